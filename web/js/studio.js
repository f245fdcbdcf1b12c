// The host studio: camera and WHIP, line-up and pins, flash sales, chat moderation, dashboard.
import { api, describe } from "./api.js";
import { RoomChannel } from "./channel.js";
import { ChatLog } from "./chat.js";
import { byId, h, say } from "./dom.js";
import { money, parsePrice } from "./format.js";
import { t, tNodes } from "./i18n.js";
import { claimsOf, expired, tokenFromFragment } from "./session.js";
import { Camera } from "./studio-camera.js";
import { Dashboard } from "./studio-dash.js";
import { QuestionQueue, StudioAuctions } from "./studio-mechanics.js";
import { Restock } from "./studio-restock.js";

const roomId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const token = tokenFromFragment();
const claims = token ? claimsOf(token) : null;
const lineup = new Map(); // sku -> product
let pinnedSku = null;

/** Why this token cannot run this room, in words, or "" when it looks right. */
function tokenProblem() {
  if (!token) return "";
  if (!claims) return t("studio.token_damaged");
  if (expired(token)) return t("studio.token_expired");
  if (claims.r === "host" && claims.room && claims.room !== roomId) return t("studio.token_other_room");
  if (claims.r !== "host" && claims.r !== "admin") return t("studio.token_viewer");
  return "";
}

function refuse(words) {
  byId("studio").hidden = true;
  byId("no-token").hidden = false;
  byId("conn").hidden = true;
  const why = byId("no-token-why");
  if (words) why.textContent = words;
  else why.replaceChildren(...tNodes("studio.no_token_why", { fragment: h("code", { translate: "no" }, "#token=…") }));
}

// ---- chat with moderation ----
const chat = new ChatLog(byId("chat"), { actions: moderation });

function moderation(msg) {
  const mine = claims && msg.user_id === claims.u;
  const who = msg.name || t("studio.this_viewer");
  const button = (label, aria, onclick) =>
    h("button", { type: "button", class: "link-button", "aria-label": aria, onclick }, label);
  return h(
    "span",
    { class: "chat-actions" },
    button(t("mod.delete"), t("mod.delete_label", { name: who }), () => send({ type: "delete_chat", msg_id: msg.msg_id })),
    mine ? null : button(t("mod.mute"), t("mod.mute_label", { name: who }), () => {
      if (send({ type: "mute", user_id: msg.user_id, seconds: 300 })) chat.note(t("mod.muted_note", { name: who }));
    }),
    mine ? null : button(t("mod.ban"), t("mod.ban_label", { name: who }), () => {
      if (confirm(t("mod.ban_confirm", { name: who })) && send({ type: "ban", user_id: msg.user_id })) {
        chat.note(t("mod.banned_note", { name: who }));
      }
    }),
  );
}

function send(message) {
  if (channel.send(message)) return true;
  say(byId("chat-status"), t("studio.offline_not_sent"));
  return false;
}

byId("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = byId("chat-input").value.trim();
  if (text && send({ type: "chat", text })) byId("chat-input").value = "";
});

byId("slow-mode").addEventListener("change", (ev) => {
  const seconds = Number(ev.target.value);
  if (send({ type: "slow_mode", seconds })) {
    chat.note(seconds ? t("studio.slow_on", { seconds }) : t("chat.slow_off"));
  }
});

// ---- line-up and pins ----
/** Units per variant (available of stock), or the made-to-order queue. */
function stockWords(p) {
  if (p.made_to_order) return t("bag.made_to_order_queue", { count: p.queue ?? 0 });
  if ((p.variants || []).length) {
    return p.variants.map((v) => t("lineup.variant_left", { label: v.label, left: v.available ?? 0, stock: v.stock ?? 0 })).join(" · ");
  }
  return typeof p.available === "number" ? t("lineup.left_of", { left: p.available, stock: p.stock }) : "";
}

/** A `lineup_stock` event: the latest availability of products the shop sold. */
function lineupStock(products) {
  for (const [sku, figures] of Object.entries(products || {})) {
    const p = lineup.get(sku);
    if (!p) continue;
    p.available = figures.available;
    for (const v of p.variants || []) {
      if (figures.variants && v.variant_id in figures.variants) v.available = figures.variants[v.variant_id];
    }
    if (typeof figures.queue === "number") p.queue = figures.queue;
  }
  renderLineup();
}

function renderLineup() {
  const list = byId("lineup");
  const items = [...lineup.values()].map((p) => {
    const pinned = p.sku === pinnedSku;
    return h(
      "li",
      { class: `lineup-item${pinned ? " is-pinned" : ""}`, dataset: { sku: p.sku } },
      p.image_url ? h("img", { src: p.image_url, alt: "", width: 44, height: 44 }) : h("span", { class: "thumb" }),
      h("div", { class: "lineup-text" },
        h("strong", { translate: "no" }, p.title),
        h("span", { class: "meta" }, money(p.price_cents, p.currency), " · ", h("span", { translate: "no" }, p.sku)),
        h("span", { class: "meta stock", translate: "no" }, stockWords(p))),
      pinned
        ? h("button", { type: "button", class: "button pin is-pinned", "aria-pressed": "true", "aria-label": t("lineup.unpin_named", { title: p.title }), onclick: () => send({ type: "unpin" }) }, t("lineup.unpin"))
        : h("button", { type: "button", class: "button pin", "aria-label": t("lineup.pin_named", { title: p.title }), onclick: () => send({ type: "pin", sku: p.sku }) }, t("lineup.pin")),
    );
  });
  list.replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, t("lineup.empty"))]));
  const select = byId("sale-sku");
  const chosen = select.value;
  select.replaceChildren(...[...lineup.values()].map((p) => new Option(`${p.title} (${money(p.price_cents, p.currency)})`, p.sku)));
  if (lineup.has(chosen)) select.value = chosen;
  else fillPrice();
  const auctionSku = byId("auction-sku");
  const chosenAuction = auctionSku.value;
  auctionSku.replaceChildren(...[...lineup.values()].map((p) => new Option(p.title, p.sku)));
  if (lineup.has(chosenAuction)) auctionSku.value = chosenAuction;
  restock?.render();
}

/** A restocked product's new figures (PUT /api/products/{sku}/stock answers them). */
function restocked(product) {
  lineup.set(product.sku, { ...lineup.get(product.sku), ...product });
  renderLineup();
}

function setLineup(products) {
  lineup.clear();
  for (const p of products || []) lineup.set(p.sku, p);
  renderLineup();
}

async function loadLineup() {
  try {
    setLineup((await api(`/api/rooms/${encodeURIComponent(roomId)}/products`)).products);
  } catch (err) {
    say(byId("add-note"), t("lineup.load_failed", { error: describe(err) }));
  }
}

async function loadCatalog() {
  try {
    const { products } = await api("/api/products?limit=100");
    byId("catalog").replaceChildren(...products.map((p) => new Option(p.title, p.sku)));
  } catch {
    /* typing the SKU still works */
  }
}

byId("add-product").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const sku = byId("add-sku").value.trim();
  try {
    const answer = await api(`/api/rooms/${encodeURIComponent(roomId)}/products`, { method: "POST", token, body: { sku } });
    setLineup(answer.products);
    byId("add-sku").value = "";
    say(byId("add-note"), "");
  } catch (err) {
    say(byId("add-note"), err.code === "not_found" ? t("lineup.no_such_sku", { sku }) : describe(err));
  }
});

// ---- flash sale form ----
function fillPrice() {
  const p = lineup.get(byId("sale-sku").value);
  if (p) byId("sale-price").value = (p.price_cents / 100).toFixed(2);
}
byId("sale-sku").addEventListener("change", fillPrice);

byId("sale-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const note = byId("sale-note");
  const priceCents = parsePrice(byId("sale-price").value);
  if (priceCents === null) return say(note, t("saleform.bad_price"));
  const body = {
    sku: byId("sale-sku").value,
    stock: Number(byId("sale-stock").value),
    price_cents: priceCents,
    per_buyer_limit: Number(byId("sale-limit").value),
    hold_s: Number(byId("sale-hold").value),
    duration_s: Math.round(Number(byId("sale-duration").value) * 60),
  };
  if (!body.sku) return say(note, t("saleform.no_product"));
  const button = ev.submitter || byId("sale-form").querySelector("button");
  button.disabled = true;
  try {
    const sale = await api(`/api/rooms/${encodeURIComponent(roomId)}/sales`, { method: "POST", token, body });
    dash.upsertSale(sale);
    say(note, t("saleform.opened", { count: sale.stock }));
  } catch (err) {
    say(note, t("saleform.failed", { error: describe(err) }));
  } finally {
    button.disabled = false;
  }
});

// ---- the end ----
byId("end-room").addEventListener("click", async () => {
  if (!confirm(t("studio.end_confirm"))) return;
  try {
    await api(`/api/rooms/${encodeURIComponent(roomId)}/end`, { method: "POST", token });
    ended();
  } catch (err) {
    say(byId("chat-status"), describe(err));
  }
});

function ended() {
  camera.stop();
  byId("live-status").textContent = t("studio.ended");
  for (const el of document.querySelectorAll("#studio button, #studio input, #studio select")) el.disabled = true;
}

// ---- the room channel ----
function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      if (ev.room) showRoom(ev.room);
      if (!ev.recovered) chat.reset(ev.chat);
      pinnedSku = ev.pinned?.sku || null;
      if (typeof ev.slow_mode === "number") byId("slow-mode").value = String(ev.slow_mode);
      renderLineup();
      auctions.load();
      questions.load();
      dash.resetSales(ev.sales);
      return dash.viewers(typeof ev.viewers === "number" ? ev.viewers : ev.viewers?.count);
    case "chat":
      return chat.add(ev);
    case "chat_deleted":
      return chat.remove(ev.msg_id);
    case "pin":
      pinnedSku = ev.product?.sku || null;
      if (ev.product && !lineup.has(ev.product.sku)) lineup.set(ev.product.sku, ev.product);
      return renderLineup();
    case "unpin":
      pinnedSku = null;
      return renderLineup();
    case "auction_open":
      return auctions.upsert(ev.auction);
    case "bid":
      return auctions.onBid(ev);
    case "auction_ended":
      return auctions.onEnded(ev);
    case "question":
      return questions.onQuestion(ev);
    case "answer":
      return questions.onAnswer(ev);
    case "sale_open":
      return dash.upsertSale({ ...ev.sale, status: ev.sale?.status || "open" });
    case "sold_out":
      return dash.setStatus(ev, "sold_out");
    case "sale_reopened":
      return dash.setStatus(ev, "open");
    case "sale_closed":
      return dash.setStatus(ev, "closed");
    case "stock":
      return dash.stock(ev);
    case "lineup_stock":
      return lineupStock(ev.products);
    case "viewers":
      return dash.viewers(ev.count);
    case "order":
      return dash.order(ev.order || ev);
    case "live_started":
      return camera.live || (byId("live-status").textContent = t("studio.shows_live"));
    case "room_ended":
      return ended();
    case "slow_mode":
      return (byId("slow-mode").value = String(ev.seconds));
    case "error":
      return say(byId("chat-status"), describe(ev));
    default:
      return undefined;
  }
}

function onState({ state, retryMs, reason }) {
  const conn = byId("conn");
  conn.dataset.state = state;
  const words = {
    connecting: () => t("conn.connecting"),
    online: () => t("conn.online"),
    offline: () => t("conn.retrying", { seconds: Math.max(1, Math.round((retryMs || 0) / 1000)) }),
    unauthorized: () => t("studio.key_refused"),
    closed: () => (reason === "room_ended" ? t("conn.room_ended") : t("conn.closed")),
  };
  conn.textContent = words[state] ? words[state]() : state;
  if (state === "unauthorized") {
    channel.stop();
    camera.stop();
    dash.stop();
  }
  if (state === "unauthorized") refuse(t("studio.token_refused"));
  if (reason === "room_ended") ended();
}

function showRoom(room) {
  document.title = t("studio.title", { title: room.title });
  const title = byId("title");
  delete title.dataset.i18n;
  title.translate = false;
  title.textContent = room.title;
  // Still publishing from an earlier page (a reload): Go live takes over at once.
  if (room.live && camera && !camera.live && !byId("live-status").textContent) {
    byId("live-status").textContent = t("studio.earlier_on_air");
  }
}

// ---- start ----
let channel;
let camera;
let dash;
let auctions;
let questions;
let restock;

async function main() {
  if (!token) return refuse("");
  const problem = tokenProblem();
  if (problem) return refuse(problem);
  byId("studio").hidden = false;
  camera = new Camera(roomId, token);
  dash = new Dashboard(roomId, token, (sku) => lineup.get(sku)?.title);
  auctions = new StudioAuctions(roomId, token, (sku) => lineup.get(sku)?.title);
  questions = new QuestionQueue(roomId, token, send, (sku) => lineup.get(sku)?.title);
  restock = new Restock(token, lineup, restocked);
  channel = new RoomChannel(roomId, { token, onEvent, onState });
  try {
    const room = await api(`/api/rooms/${encodeURIComponent(roomId)}`);
    showRoom(room);
    if (room.status === "ended") ended();
  } catch (err) {
    if (err.status === 404) return refuse(t("studio.no_such_room"));
  }
  await loadLineup();
  loadCatalog();
  channel.start();
  dash.start();
  camera.start();
}

main();
