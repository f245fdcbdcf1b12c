// The viewer's shop: pinned product, flash sales with countdown and buying, own orders.
import { api, describe, newKey } from "./api.js";
import { serverNow } from "./clock.js";
import { byId, h, say } from "./dom.js";
import { clockText, money, unitsLeft } from "./format.js";
import { t, tNodes } from "./i18n.js";

const products = new Map(); // sku -> Promise<product|null>

/** The catalog entry for a SKU, fetched once. */
export function productOf(sku) {
  if (!products.has(sku)) products.set(sku, api(`/api/products/${encodeURIComponent(sku)}`).catch(() => null));
  return products.get(sku);
}

const FINISHED = new Set(["paid", "cancelled", "expired"]);

export class Shop {
  /** session() -> {token,...}|null; needSession(why) asks for a name, answers a session or null. */
  constructor(roomId, { session, needSession, onUnauthorized, soldOut }) {
    // soldOut: {key(sale), box(sale)}: what a sold-out sale's card offers (the waitlist).
    this.soldOut = soldOut || null;
    this.roomId = roomId;
    this.session = session;
    this.needSession = needSession;
    this.onUnauthorized = onUnauthorized;
    this.pinned = null;
    this.sales = new Map();
    this.orders = new Map();
    this.attempts = new Map(); // sale_id -> {key, qty}: a buy whose answer never came
    this.notes = new Map(); // sale_id -> words about the last buy
    this.busy = new Set();
    this.lastQty = new Map();
    this.cards = new Map(); // sale_id -> the card's elements
    setInterval(() => this.tick(), 1000);
  }

  // ---- pinned product ----
  setPinned(product) {
    this.pinned = product || null;
    if (product) products.set(product.sku, Promise.resolve(product));
    this.renderProduct();
  }

  renderProduct() {
    const p = this.pinned;
    byId("product").hidden = !p;
    if (!p) return;
    const img = byId("product-image");
    img.hidden = !p.image_url;
    if (p.image_url) img.src = p.image_url;
    img.alt = p.title;
    byId("product-title").textContent = p.title;
    byId("product-price").textContent = money(p.price_cents, p.currency);
    byId("product-description").textContent = p.description || "";
    const sale = [...this.sales.values()].find((s) => s.sku === p.sku && s.status !== "closed");
    const stock = byId("product-stock");
    say(stock, sale ? (sale.status === "scheduled" ? t("sale.soon") : unitsLeft(sale.left)) : "");
    stock.classList.toggle("is-out", Boolean(sale) && sale.status !== "scheduled" && sale.left <= 0);
  }

  // ---- sales ----
  resetSales(list) {
    this.sales.clear();
    for (const sale of list || []) this.sales.set(sale.sale_id, { ...sale });
    this.render();
  }

  upsertSale(sale) {
    if (!sale || !sale.sale_id) return;
    this.sales.set(sale.sale_id, { ...(this.sales.get(sale.sale_id) || {}), ...sale });
    this.render();
  }

  stock({ sale_id, left, held, sold }) {
    const sale = this.sales.get(sale_id);
    if (!sale) return;
    Object.assign(sale, { left, held, sold });
    if (left > 0 && sale.status === "sold_out") sale.status = "open";
    if (left <= 0 && sale.status === "open") sale.status = "sold_out";
    this.render();
  }

  setStatus(ev, status) {
    const id = ev.sale_id ?? ev.sale?.sale_id;
    const sale = this.sales.get(id);
    if (ev.sale) this.upsertSale({ ...ev.sale, status });
    else if (sale) {
      sale.status = status;
      if (typeof ev.left === "number") sale.left = ev.left;
      if (status === "sold_out") sale.left = 0;
      this.render();
    }
  }

  render() {
    const box = byId("sales");
    for (const [id, view] of this.cards) {
      if (!this.sales.has(id)) {
        view.card.remove();
        this.cards.delete(id);
      }
    }
    for (const sale of this.sales.values()) this.updateCard(sale, box);
    this.renderProduct();
  }

  // Cards are updated in place, so a stock tick never steals focus or the chosen quantity.
  updateCard(sale, box) {
    let view = this.cards.get(sale.sale_id);
    if (!view) {
      view = this.newCard(sale);
      this.cards.set(sale.sale_id, view);
      box.prepend(view.card);
    }
    view.card.className = `card sale is-${sale.status}`;
    view.price.textContent = money(sale.price_cents, sale.currency);
    view.left.textContent = this.stockWords(sale);
    view.timer.textContent = this.timerWords(sale);
    view.note.textContent = this.notes.get(sale.sale_id) || "";
    const pending = this.attempts.get(sale.sale_id);
    const busy = this.busy.has(sale.sale_id);
    const waiting = sale.status === "sold_out" && this.soldOut;
    const formKey = sale.status === "open" ? `open|${busy}|${pending ? pending.key : ""}`
      : waiting ? `sold_out|${this.soldOut.key(sale)}` : sale.status;
    if (view.formKey !== formKey) {
      view.formKey = formKey;
      const focused = view.buyBox.contains(document.activeElement);
      view.buyBox.replaceChildren(sale.status === "open" ? this.buyForm(sale) : waiting ? this.soldOut.box(sale) : "");
      if (focused) view.buyBox.querySelector("button")?.focus();
    }
  }

  newCard(sale) {
    const id = `sale-${sale.sale_id}`;
    const title = h("h2", { class: "product-title", id: `${id}-title` }, t("sale.eyebrow"));
    const was = h("s", { class: "was" });
    productOf(sale.sku).then((p) => {
      if (!p) return;
      title.textContent = p.title;
      // The regular price beside the sale price, when the sale is cheaper.
      title.translate = false;
      if (p.currency === sale.currency && p.price_cents > sale.price_cents) {
        const usual = h("span", { class: "visually-hidden" }, t("sale.usually", { price: money(p.price_cents, p.currency) }));
        was.replaceChildren(usual, h("span", { "aria-hidden": "true" }, money(p.price_cents, p.currency)));
      }
    });
    const view = {
      price: h("span", { class: "price" }),
      left: h("p", { class: "stock", dataset: { role: "left" } }),
      timer: h("p", { class: "countdown", dataset: { role: "timer" } }),
      buyBox: h("div", { class: "buy-box" }),
      note: h("p", { class: "status-note", role: "status" }),
    };
    view.card = h(
      "section",
      { id, "aria-labelledby": `${id}-title`, dataset: { saleId: sale.sale_id } },
      h("p", { class: "eyebrow" }, t("sale.eyebrow")),
      title,
      h("p", { class: "price-line" }, view.price, " ", was),
      view.left,
      view.timer,
      view.buyBox,
      view.note,
    );
    return view;
  }

  stockWords(sale) {
    if (sale.status === "closed") return t("sale.closed");
    if (sale.status === "sold_out" || sale.left <= 0) {
      const mine = [...this.orders.values()].some((o) => o.sale_id === sale.sale_id && o.status === "held");
      if (mine) return t("sale.all_taken_yours_held");
      return sale.held > 0 ? t("sale.sold_out_for_now") : t("sale.sold_out");
    }
    return sale.left === 1 ? unitsLeft(1) : t("sale.left_of", { left: sale.left, stock: sale.stock });
  }

  timerWords(sale) {
    const now = serverNow();
    if (sale.status === "scheduled" && sale.starts_at) return t("sale.starts_in", { time: clockText(sale.starts_at - now) });
    if (sale.status === "closed") return "";
    if (sale.ends_at) return t("sale.ends_in", { time: clockText(sale.ends_at - now) });
    return "";
  }

  buyForm(sale) {
    const limit = Math.max(1, Math.min(sale.per_buyer_limit || 1, 10));
    const qtyId = `qty-${sale.sale_id}`;
    const select = h(
      "select",
      { id: qtyId, name: "qty" },
      ...Array.from({ length: limit }, (_, i) => h("option", { value: String(i + 1) }, String(i + 1))),
    );
    const pending = this.attempts.get(sale.sale_id);
    select.value = String(pending ? pending.qty : Math.min(this.lastQty.get(sale.sale_id) || 1, limit));
    select.addEventListener("change", () => this.lastQty.set(sale.sale_id, Number(select.value)));
    select.addEventListener("change", () => this.attempts.delete(sale.sale_id));
    const busy = this.busy.has(sale.sale_id);
    const label = busy ? t("sale.buying") : pending ? t("sale.try_again") : t("sale.buy_now");
    return h(
      "form",
      {
        class: "buy",
        onsubmit: (ev) => {
          ev.preventDefault();
          this.buy(sale.sale_id, Number(select.value));
        },
      },
      h("label", { for: qtyId }, t("sale.quantity")),
      select,
      h("button", { type: "submit", class: "button primary", disabled: busy }, label),
      limit > 1 ? h("span", { class: "hint" }, t("sale.up_to_each", { limit: sale.per_buyer_limit })) : null,
    );
  }

  /** One tap: a new Idempotency-Key, unless the last try got no answer (then the same one). */
  async buy(saleId, qty) {
    if (this.busy.has(saleId)) return;
    const session = this.session() || (await this.needSession(t("chat.name_to_buy")));
    if (!session) return;
    let attempt = this.attempts.get(saleId);
    if (!attempt || attempt.qty !== qty) attempt = { key: newKey(), qty };
    this.attempts.set(saleId, attempt);
    this.busy.add(saleId);
    this.notes.set(saleId, "");
    this.render();
    try {
      const order = await this.postOrder(saleId, attempt, session.token);
      this.attempts.delete(saleId);
      this.remember(order);
      this.notes.set(saleId, "");
    } catch (err) {
      if (!err.retryable) this.attempts.delete(saleId);
      if (err.status === 401) this.onUnauthorized();
      this.notes.set(saleId, describe(err));
      if (err.code === "sold_out") this.setStatus({ sale_id: saleId }, "sold_out");
      if (err.code === "sale_not_open") this.setStatus({ sale_id: saleId }, "closed");
    } finally {
      this.busy.delete(saleId);
      this.render();
    }
  }

  // Retries a few times with the same key when no definite answer came back.
  async postOrder(saleId, attempt, token) {
    for (let i = 0; ; i++) {
      try {
        return await api(`/api/sales/${encodeURIComponent(saleId)}/orders`, {
          method: "POST",
          token,
          body: { qty: attempt.qty },
          headers: { "Idempotency-Key": attempt.key },
        });
      } catch (err) {
        if (!err.retryable || i >= 2) throw err;
        await new Promise((r) => setTimeout(r, 600 * (i + 1)));
      }
    }
  }

  // ---- orders ----
  storeKey() {
    return `live.orders.${this.roomId}`;
  }

  remember(order) {
    if (!order || !order.order_id) return;
    const mine = this.session();
    if (mine && order.user_id && order.user_id !== mine.user_id) return;
    this.orders.set(order.order_id, { ...(this.orders.get(order.order_id) || {}), ...order });
    try {
      localStorage.setItem(this.storeKey(), JSON.stringify([...this.orders.keys()].slice(-10)));
    } catch {
      /* storage blocked: orders show for this page only */
    }
    this.renderOrders();
    this.render(); // the sale card speaks differently to someone holding units
  }

  /** Read back this buyer's orders in this room (after a reload or a reconnect). */
  async refreshOrders() {
    const session = this.session();
    if (!session) return;
    let ids = [...this.orders.keys()];
    try {
      ids = [...new Set([...ids, ...JSON.parse(localStorage.getItem(this.storeKey()) || "[]")])];
    } catch {
      /* nothing stored */
    }
    for (const id of ids) {
      const known = this.orders.get(id);
      if (known && FINISHED.has(known.status)) continue;
      try {
        this.remember(await api(`/api/orders/${encodeURIComponent(id)}`, { token: session.token }));
      } catch (err) {
        if (err.status === 404 || err.status === 403) this.orders.delete(id);
      }
    }
    this.renderOrders();
  }

  async pay(orderId) {
    await this.orderAction(orderId, "pay", t("order.paying"));
  }

  async cancel(orderId) {
    await this.orderAction(orderId, "cancel", t("order.cancelling"));
  }

  async orderAction(orderId, action, busyWords) {
    const session = this.session();
    const order = this.orders.get(orderId);
    if (!session || !order) return;
    order.note = busyWords;
    order.busy = true;
    this.renderOrders();
    try {
      const fresh = await api(`/api/orders/${encodeURIComponent(orderId)}/${action}`, {
        method: "POST",
        token: session.token,
      });
      const pending = fresh.payment && fresh.payment.status === "pending";
      this.remember({ ...fresh, note: pending ? t("order.confirming") : "", busy: false });
    } catch (err) {
      if (err.code === "hold_expired") order.status = "expired";
      if (err.code === "order_cancelled") order.status = "cancelled";
      if (err.code === "already_paid") order.status = "paid";
      if (err.status === 401) this.onUnauthorized();
      order.note = describe(err);
      order.busy = false;
      this.renderOrders();
    }
  }

  renderOrders() {
    const box = byId("orders");
    const list = [...this.orders.values()].filter((o) => !o.room_id || o.room_id === this.roomId);
    // Everything still open, and the latest finished one.
    list.sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    const open = list.filter((o) => !FINISHED.has(o.status));
    const shown = open.length ? open : list.slice(0, 1);
    box.replaceChildren(...shown.map((o) => this.orderCard(o)));
  }

  orderCard(o) {
    const amount = money(o.amount_cents ?? o.price_cents * o.qty, o.currency);
    const what = tNodes("order.qty_of", { qty: o.qty, title: h("span", { translate: "no" }, o.title || o.sku) });
    const card = h(
      "section",
      { class: `card order is-${o.status}`, "aria-label": t("order.yours"), dataset: { orderId: o.order_id, status: o.status } },
      h("p", { class: "eyebrow" }, t("order.yours")),
      h("p", { class: "order-what" }, h("span", {}, ...what), h("span", { class: "price" }, amount)),
    );
    const state = h("p", { class: "order-state", dataset: { role: "order-state" } }, this.orderWords(o));
    card.append(state);
    if (o.status === "held") {
      card.append(
        h(
          "div",
          { class: "row" },
          h("button", { type: "button", class: "button primary", disabled: o.busy, onclick: () => this.pay(o.order_id) }, t("order.pay_amount", { amount })),
          h("button", { type: "button", class: "button quiet", disabled: o.busy, onclick: () => this.cancel(o.order_id) }, t("order.cancel")),
        ),
      );
    }
    if (o.note) card.append(h("p", { class: "status-note", role: "status" }, o.note));
    return card;
  }

  orderWords(o) {
    switch (o.status) {
      case "held": {
        const left = (o.expires_at || 0) - serverNow();
        return left > 0 ? t("order.held_for_you", { time: clockText(left) }) : t("order.hold_running_out");
      }
      case "paid":
        return t("order.paid_thanks");
      case "expired":
        return t("order.expired");
      case "cancelled":
        return t("order.cancelled");
      default:
        return o.status ? t(`order.status.${o.status}`) : "";
    }
  }

  // Countdowns move every second without rebuilding the cards (focus stays put).
  tick() {
    for (const card of document.querySelectorAll("#sales .sale")) {
      const sale = this.sales.get(card.dataset.saleId);
      const timer = card.querySelector("[data-role=timer]");
      if (sale && timer) timer.textContent = this.timerWords(sale);
      if (sale && sale.status === "scheduled" && sale.starts_at && sale.starts_at <= serverNow()) {
        sale.status = sale.left > 0 ? "open" : "sold_out";
        this.render();
        return;
      }
      if (sale && sale.status === "open" && sale.ends_at && sale.ends_at <= serverNow()) {
        sale.status = "closed";
        this.render();
        return;
      }
    }
    for (const card of document.querySelectorAll("#orders .order")) {
      const o = this.orders.get(card.dataset.orderId);
      if (!o) continue;
      card.querySelector("[data-role=order-state]").textContent = this.orderWords(o);
      // A second past expiry the sweeper has run: ask for the final word.
      if (o.status === "held" && o.expires_at && serverNow() > o.expires_at + 1500 && !o.checking) {
        o.checking = true;
        this.refreshOrders().finally(() => (o.checking = false));
      }
    }
  }
}
