// The viewer page: video (WHEP), the room channel, chat, likes, and the shop. On a phone
// the video fills the screen and the chat, the pinned card, likes and the bag float over it.
import { t, tNodes } from "./i18n.js";
import { api, describe, mediaConfig } from "./api.js";
import { RoomChannel } from "./channel.js";
import { ChatLog } from "./chat.js";
import { byId, h, say } from "./dom.js";
import { count, timeOfDay, watching } from "./format.js";
import { followVisualViewport, Sheets } from "./sheets.js";
import { forgetSession, loadSession, saveSession } from "./session.js";
import { Bag } from "./viewer-bag.js";
import { Auctions } from "./viewer-auctions.js";
import { Questions } from "./viewer-questions.js";
import { ReplayPlayer, fetchReplay } from "./viewer-replay.js";
import { Shop } from "./viewer-shop.js";
import { Waitlist } from "./viewer-waitlist.js";
import { CardSync } from "./card-sync.js";
import { play } from "./whep.js";

const roomId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
let session = loadSession();
let room = null;
let ended = false;
let replay = null; // the ReplayPlayer once an ended room's replay plays

const chat = new ChatLog(byId("chat"));
// A pinned card appears with the frame it belongs to (docs/protocol.md).
const cardSync = new CardSync(byId("video"));
window.liveCardSync = cardSync; // for the browser console and the tests
const sheets = new Sheets(byId("viewer"));
followVisualViewport();
const waitlist = new Waitlist({
  session: () => session,
  needSession: askForName,
  buy: (saleId) => shop.buy(saleId, 1),
  changed: () => shop.render(),
});
const shop = new Shop(roomId, {
  session: () => session,
  needSession: askForName,
  onUnauthorized: dropSession,
  soldOut: waitlist,
});
const auctions = new Auctions(roomId, {
  session: () => session,
  needSession: askForName,
  onUnauthorized: dropSession,
});
const questions = new Questions({
  send: (message) => channel.send(message),
  session: () => session,
  needSession: askForName,
});
const bag = new Bag(roomId, {
  session: () => session,
  needSession: askForName,
  showBag: () => sheets.show("bag", { focus: byId("bag-checkout").hidden ? null : byId("bag-checkout") }),
});
bag.load();

// ---- who am I ----
let nameWaiters = [];

function askForName(why) {
  showChatForms();
  say(byId("chat-status"), why);
  // On a phone the name field is in the chat sheet: open it over whatever asked, and go
  // back there once the name is given.
  sheets.show("chat", { focus: byId("name-input"), returnAfter: true });
  byId("name-input").focus();
  return new Promise((resolve) => nameWaiters.push(resolve));
}

function dropSession() {
  session = null;
  forgetSession();
  showChatForms();
  say(byId("chat-status"), describe({ code: "unauthorized" }));
}

function showChatForms() {
  // A replay has no chat, but buying from it still asks for a name.
  byId("name-form").hidden = Boolean(session) || (ended && !replay);
  byId("chat-form").hidden = !session || ended;
  if (session) {
    const me = h("span", { id: "me", translate: "no" }, session.name);
    byId("me-line").replaceChildren(...tNodes("chat.chatting_as", { name: me }));
  }
}

byId("name-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = byId("name-input").value.trim();
  if (!name) return;
  const button = ev.submitter || byId("name-form").querySelector("button");
  button.disabled = true;
  try {
    session = await api("/api/sessions", { method: "POST", body: { name } });
    saveSession(session);
    say(byId("chat-status"), "");
    showChatForms();
    byId("chat-input").focus();
    channel.setToken(session.token);
    // Asked for by a buy or a bid: back to it (the sheet it came from), not to the chat.
    if (nameWaiters.length) sheets.done("chat");
    for (const resolve of nameWaiters) resolve(session);
    nameWaiters = [];
    shop.refreshOrders();
    bag.refreshMine();
  } catch (err) {
    say(byId("chat-status"), err.code === "rate_limited" ? t("chat.names_rate_limited") : describe(err));
  } finally {
    button.disabled = false;
  }
});

// ---- chat and likes ----
byId("chat-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = byId("chat-input");
  const text = input.value.trim();
  if (!text) return;
  if (!channel.send({ type: "chat", text })) {
    say(byId("chat-status"), t("chat.offline_not_sent"));
    return;
  }
  input.value = "";
  say(byId("chat-status"), "");
});

byId("like").addEventListener("click", () => {
  if (!channel.send({ type: "like" })) return say(byId("chat-status"), t("chat.offline_like"));
  const like = byId("like");
  like.classList.remove("is-liked");
  void like.offsetWidth; // restart the little pulse (none when motion is reduced)
  like.classList.add("is-liked");
});

// ---- phone sheets: the full chat, the bag ----
byId("chat-open").addEventListener("click", (ev) => openChat(ev.currentTarget));
byId("chat-expand").addEventListener("click", (ev) => openChat(ev.currentTarget));
byId("bag-open").addEventListener("click", (ev) => sheets.show("bag", { opener: ev.currentTarget }));

function openChat(opener) {
  const field = session ? byId("chat-input") : byId("name-input");
  sheets.show("chat", { focus: ended ? null : field, opener });
  byId("chat").scrollTop = byId("chat").scrollHeight;
}

// ---- the room channel ----
function onState({ state, retryMs, reason }) {
  const conn = byId("conn");
  conn.dataset.state = state;
  if (state === "offline") {
    conn.textContent = t("conn.retrying", { seconds: Math.max(1, Math.round(retryMs / 1000)) });
  } else if (state === "closed") {
    conn.textContent = reason === "room_ended" ? t("conn.room_ended") : t("conn.closed");
    if (reason === "room_ended") roomEnded();
    if (reason === "unknown_room") say(byId("room-note"), t("viewer.no_such_room"));
    if (reason === "forbidden") say(byId("room-note"), t("viewer.chat_forbidden"));
  } else if (["connecting", "online", "unauthorized"].includes(state)) {
    conn.textContent = t(`conn.${state}`);
  }
  if (state === "unauthorized") dropSession();
}

function onEvent(ev) {
  switch (ev.type) {
    case "snapshot":
      return applySnapshot(ev);
    case "chat":
      return chat.add(ev);
    case "chat_deleted":
      return chat.remove(ev.msg_id);
    case "pin":
      return cardSync.hold(ev, () => {
        bag.setPinned(ev.product);
        questions.show(ev.product?.sku || null);
        shop.setPinned(ev.product);
      });
    case "unpin":
      return cardSync.hold(ev, () => {
        bag.setPinned(null);
        questions.show(null);
        shop.setPinned(null);
      });
    case "lineup_stock":
      return bag.stock(ev.products);
    case "auction_open":
      return auctions.upsert(ev.auction);
    case "bid":
      return auctions.onBid(ev);
    case "auction_ended":
      return auctions.onEnded(ev);
    case "offer":
      return waitlist.onOffer(ev);
    case "offer_expired":
      return waitlist.onOfferExpired(ev);
    case "waitlist_closed":
      return waitlist.onClosed(ev);
    case "answer":
      return questions.onAnswer(ev);
    case "sale_open":
      return shop.upsertSale({ ...ev.sale, status: ev.sale?.status || "open" });
    case "sold_out":
      return shop.setStatus(ev, "sold_out");
    case "sale_reopened":
      return shop.setStatus(ev, "open");
    case "sale_closed":
      return shop.setStatus(ev, "closed");
    case "stock":
      return shop.stock(ev);
    case "viewers":
      return setViewers(ev.count);
    case "likes":
      return setLikes(ev.count);
    case "live_started":
      return setLive(true);
    case "live_ended":
      return setLive(false);
    case "room_ended":
      return roomEnded();
    case "order": {
      const order = ev.order || ev;
      waitlist.onOrder(order);
      bag.remember(order); // "My orders" lists every kind
      if (order.sale_id !== null) shop.remember(order);
      return;
    }
    case "error":
      return say(byId("chat-status"), describeChannelError(ev));
    case "slow_mode":
      return setSlowMode(ev.seconds);
    case "muted":
      return say(byId("chat-status"), ev.until
        ? t("chat.muted_until", { time: timeOfDay(ev.until) })
        : describe({ code: "muted" }));
    case "banned":
      return say(byId("chat-status"), t("chat.banned"));
    default:
      return undefined;
  }
}

let slowMode = 0;

function setSlowMode(seconds) {
  const next = Number(seconds) || 0;
  if (next !== slowMode) chat.note(next ? t("chat.slow_on", { seconds: next }) : t("chat.slow_off"));
  slowMode = next;
}

function describeChannelError(ev) {
  if (ev.code === "rate_limited" && slowMode) return t("chat.slow_wait", { seconds: slowMode });
  if (ev.code === "rate_limited") return t("chat.rate_limited");
  if (ev.code === "forbidden" && !session) return t("chat.name_first");
  return describe(ev);
}

function applySnapshot(snap) {
  cardSync.flush(); // the snapshot's pinned card is the latest word
  if (snap.room) showRoom(snap.room);
  if (!snap.recovered) {
    chat.reset(snap.chat);
    slowMode = 0;
  }
  if (typeof snap.slow_mode === "number") setSlowMode(snap.slow_mode);
  shop.setPinned(snap.pinned || null);
  bag.setPinned(snap.pinned || null);
  bag.load();
  bag.refreshMine();
  questions.show(snap.pinned?.sku || null);
  shop.resetSales(snap.sales);
  auctions.load();
  setViewers(typeof snap.viewers === "number" ? snap.viewers : snap.viewers?.count);
  setLikes(typeof snap.likes === "number" ? snap.likes : snap.likes?.count);
  shop.refreshOrders(); // personal events are not replayed: read our orders back
}

function setViewers(count) {
  if (typeof count === "number") byId("viewers").textContent = watching(count);
}

function setLikes(n) {
  if (typeof n === "number") byId("likes").textContent = count(n);
}

function showRoom(r) {
  room = r;
  document.title = t("viewer.title", { title: r.title });
  const title = byId("title");
  delete title.dataset.i18n;
  title.translate = false;
  title.textContent = r.title;
  const host = r.host_name ? h("span", { translate: "no" }, r.host_name) : null;
  byId("host").replaceChildren(...(host ? tNodes("viewer.with_host", { host }) : []));
  setViewers(r.viewers);
  setLive(Boolean(r.live));
  if (r.status === "ended") roomEnded();
}

function roomEnded() {
  const first = !ended;
  ended = true;
  setLive(false);
  say(byId("room-note"), t("viewer.ended_thanks"));
  byId("like").disabled = true;
  showChatForms();
  for (const form of document.querySelectorAll("#sales form")) form.remove();
  video.stop();
  if (first) startReplay();
}

// ---- the replay of an ended room ----
// Polled while an ended room's replay is still being finished (a few seconds).
const REPLAY_POLL_MS = 2000;

async function startReplay() {
  if (replay) return true;
  const found = await fetchReplay(roomId);
  if (replay) return true;
  if (found?.status === "recording" && ended) {
    say(byId("room-note"), t("replay.preparing"));
    setTimeout(startReplay, REPLAY_POLL_MS);
    return true;
  }
  if (found?.status !== "ready") return false;
  ended = true;
  channel.stop();
  document.body.classList.add("is-replay");
  replay = true; // taken: a second call (the room ended while this one waited) stops here
  if (!room) {
    document.title = t("viewer.title", { title: found.title || t("replay.title") });
    byId("title").textContent = found.title || t("replay.title");
    byId("title").removeAttribute("data-i18n");
    byId("host").replaceChildren(...(found.host_name
      ? tNodes("viewer.with_host", { host: h("span", { translate: "no" }, found.host_name) })
      : []));
  }
  byId("conn").textContent = t("replay.conn");
  say(byId("room-note"), t("replay.note"));
  byId("ask-form").hidden = true;
  byId("chat-heading").textContent = t("replay.name_heading");
  showChatForms();
  bag.setProducts(found.products || []);
  replay = new ReplayPlayer(found, byId("video"), {
    onPinned: (product) => {
      shop.setPinned(product);
      bag.setPinned(product);
    },
  });
  window.liveReplay = replay; // for the browser console and the tests
  replay.start(Number(new URLSearchParams(location.search).get("t")));
  setVideoNote("");
  return true;
}

// ---- video ----
const video = {
  session: null,
  starting: false,
  live: false,
  attempt: 0,
  timer: null,
  async start() {
    if (this.session || this.starting || ended) return;
    clearTimeout(this.timer);
    this.starting = true;
    try {
      const { iceServers } = await mediaConfig();
      this.session = await play(roomId, byId("video"), {
        iceServers,
        token: session?.token,
        onClock: (offset) => cardSync.setOffset(offset),
        onState: (state) => {
          if (state === "connected") this.attempt = 0;
          if (state === "failed" || state === "closed") this.retry();
        },
      });
    } catch (err) {
      this.session = null;
      if (err.code === "unsupported_codec") return setVideoNote(describe(err));
      this.retry();
    } finally {
      this.starting = false;
    }
  },
  retry() {
    this.stop();
    if (ended) return;
    const delay = Math.min(30000, 1000 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => this.start(), delay);
  },
  stop() {
    clearTimeout(this.timer);
    this.session?.stop();
    this.session = null;
    cardSync.setOffset(null);
    cardSync.flush();
  },
};

function setLive(live) {
  video.live = live;
  updateVideoNote();
  if (live && !video.session) {
    video.attempt = 0;
    video.start();
  }
}

function setVideoNote(text) {
  say(byId("video-note"), text);
}

function updateVideoNote() {
  const el = byId("video");
  if (replay) return setVideoNote("");
  if (ended) return setVideoNote(t("viewer.ended"));
  if (!video.live) return setVideoNote(t("viewer.waiting"));
  setVideoNote(el.readyState >= 2 && !el.paused ? "" : t("viewer.starting"));
}

for (const name of ["loadeddata", "pause", "waiting"]) {
  byId("video").addEventListener(name, updateVideoNote);
}
// Frames only flow while the host publishes, so playing means live.
byId("video").addEventListener("playing", () => {
  video.live = true;
  updateVideoNote();
  byId("sound").hidden = !byId("video").muted;
});

byId("sound").addEventListener("click", () => {
  const el = byId("video");
  el.muted = false;
  el.play().catch(() => {});
  byId("sound").hidden = true;
});

window.addEventListener("pagehide", () => video.stop());

// ---- start ----
const channel = new RoomChannel(roomId, { token: session?.token, onEvent, onState });
window.liveChannel = channel; // for the browser console and the tests

async function main() {
  showChatForms();
  try {
    showRoom(await api(`/api/rooms/${encodeURIComponent(roomId)}`));
  } catch (err) {
    if (err.status === 404 && (await startReplay())) return; // the room is gone, its replay is not
    if (err.status === 404) {
      byId("title").textContent = t("viewer.not_found_title");
      byId("title").removeAttribute("data-i18n");
      say(byId("room-note"), t("viewer.not_found"));
      byId("conn").textContent = "";
      return;
    }
    say(byId("room-note"), describe(err));
  }
  if (ended) return; // an ended room plays its replay (roomEnded)
  channel.start();
  video.start();
}

main();
