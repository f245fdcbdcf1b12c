// The viewer's shop bag: the whole line-up at list price with live availability, variants,
// one checkout and one payment; made-to-order queue dates; "My orders".
import { api, describe, newKey } from "./api.js";
import { byId, h, say } from "./dom.js";
import { money } from "./format.js";

const STATUS_WORDS = {
  held: "Waiting for payment",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  return_requested: "Return asked for",
  partly_refunded: "Partly refunded",
  refunded: "Refunded",
  cancelled: "Cancelled",
  expired: "Hold ran out",
};

export class Bag {
  /** session() -> {token}|null; needSession(why) -> Promise<session|null>. */
  constructor(roomId, { session, needSession }) {
    this.roomId = roomId;
    this.session = session;
    this.needSession = needSession;
    this.products = new Map(); // sku -> product with availability
    this.lines = []; // [{sku, variant_id, qty}]
    this.order = null; // the held order from the last checkout
    this.mine = [];
    byId("bag-checkout").addEventListener("click", () => this.checkout());
    byId("bag-pay").addEventListener("click", () => this.pay());
    byId("product-buy").addEventListener("click", () => this.buyPinned());
  }

  async load() {
    try {
      const lineup = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/products`);
      this.products = new Map(lineup.products.map((p) => [p.sku, p]));
    } catch {
      return;
    }
    this.render();
    this.setPinned(this.pinned); // its variants now with what is left of each
  }

  /** The line-up as given (a replay's, kept with it after the room's own expired). */
  setProducts(products) {
    this.products = new Map(products.map((p) => [p.sku, p]));
    this.render();
    this.setPinned(this.pinned);
  }

  /** A `lineup_stock` event: the latest availability of each product the bag touched. */
  stock(products) {
    for (const [sku, figures] of Object.entries(products || {})) {
      const p = this.products.get(sku);
      if (!p) continue;
      p.available = figures.available;
      for (const v of p.variants || []) {
        if (figures.variants && v.variant_id in figures.variants) v.available = figures.variants[v.variant_id];
      }
      if (typeof figures.queue === "number") p.queue = figures.queue;
    }
    this.render();
    this.setPinned(this.pinned);
  }

  // ---- the pinned product's card ----
  setPinned(product) {
    this.pinned = product || null;
    const select = byId("product-variant");
    const buy = byId("product-buy");
    const chosen = select.value;
    select.replaceChildren();
    buy.hidden = !product;
    if (!product) return;
    const known = this.products.get(product.sku) || product;
    const variants = known.variants || [];
    select.hidden = variants.length === 0;
    byId("product-variant-label").hidden = variants.length === 0;
    for (const v of variants) {
      select.append(h("option", { value: v.variant_id }, `${v.label}${leftText(v.available)}`));
    }
    if (variants.some((v) => v.variant_id === chosen)) select.value = chosen;
  }

  buyPinned() {
    if (!this.pinned) return;
    const known = this.products.get(this.pinned.sku) || this.pinned;
    const variant = (known.variants || []).length ? byId("product-variant").value : null;
    this.add(this.pinned.sku, variant);
  }

  // ---- the bag ----
  add(sku, variantId) {
    const same = this.lines.find((l) => l.sku === sku && l.variant_id === variantId);
    if (same) same.qty += 1;
    else this.lines.push({ sku, variant_id: variantId, qty: 1 });
    this.order = null;
    say(byId("bag-note"), "");
    this.render();
  }

  remove(index) {
    this.lines.splice(index, 1);
    this.render();
  }

  priceOf(line) {
    const p = this.products.get(line.sku);
    if (!p) return 0;
    const v = (p.variants || []).find((x) => x.variant_id === line.variant_id);
    return v && typeof v.price_cents === "number" ? v.price_cents : p.price_cents;
  }

  render() {
    const list = byId("bag-lineup");
    list.replaceChildren(...[...this.products.values()].map((p) => this.productRow(p)));
    byId("bag").hidden = this.products.size === 0;
    const lines = byId("bag-lines");
    lines.replaceChildren(...this.lines.map((line, i) => {
      const p = this.products.get(line.sku);
      const v = (p?.variants || []).find((x) => x.variant_id === line.variant_id);
      return h("li", { class: "bag-line" },
        `${p ? p.title : line.sku}${v ? ` (${v.label})` : ""} × ${line.qty}`,
        h("button", { type: "button", class: "link", onclick: () => this.remove(i),
          "aria-label": `Remove ${p ? p.title : line.sku}` }, "Remove"));
    }));
    const currency = this.products.values().next().value?.currency || "CNY";
    const total = this.lines.reduce((sum, l) => sum + this.priceOf(l) * l.qty, 0);
    byId("bag-total").textContent = this.lines.length ? `Total ${money(total, currency)}` : "Your bag is empty.";
    byId("bag-checkout").hidden = this.lines.length === 0 || Boolean(this.order);
    byId("bag-pay").hidden = !this.order || this.order.status !== "held";
  }

  productRow(p) {
    const variants = p.variants || [];
    const row = h("li", { class: "lineup-item", dataset: { sku: p.sku } },
      h("span", { class: "lineup-title" }, p.title),
      h("span", { class: "price" }, money(p.price_cents, p.currency)),
      h("span", { class: "stock" }, p.made_to_order ? `Made to order${p.queue ? ` · ${p.queue} in the queue` : ""}` : leftText(p.available).replace(" · ", "")));
    let select = null;
    if (variants.length) {
      select = h("select", { "aria-label": `${p.title}: size or colour` },
        ...variants.map((v) => h("option", { value: v.variant_id, disabled: v.available === 0 },
          `${v.label}${leftText(v.available)}`)));
      row.append(select);
    }
    const soldOut = !p.made_to_order && p.available === 0;
    row.append(h("button", { type: "button", class: "button", disabled: soldOut,
      onclick: () => this.add(p.sku, select ? select.value : null) }, soldOut ? "Sold out" : "Add"));
    return row;
  }

  async token(why) {
    const current = this.session() || (await this.needSession(why));
    return current ? current.token : null;
  }

  async checkout() {
    const token = await this.token("Choose a name to check out.");
    if (!token || !this.lines.length) return;
    const button = byId("bag-checkout");
    button.disabled = true;
    try {
      this.order = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/orders`, {
        method: "POST", token, body: { lines: this.lines }, headers: { "Idempotency-Key": newKey() },
      });
      say(byId("bag-note"), `Held for you: ${money(this.order.amount_cents, this.order.currency)}. Pay to keep it.${queueText(this.order)}`);
    } catch (err) {
      const where = err.extra?.field ? ` (${err.extra.field.replace("lines[", "line ").replace("]", "")})` : "";
      say(byId("bag-note"), describe(err) + where);
    } finally {
      button.disabled = false;
      this.render();
    }
  }

  async pay() {
    const token = await this.token("Choose a name to pay.");
    if (!token || !this.order) return;
    try {
      this.order = await api(`/api/orders/${encodeURIComponent(this.order.order_id)}/pay`, { method: "POST", token });
      say(byId("bag-note"), `Paid. Thank you!${queueText(this.order)}`);
      this.lines = [];
      await this.refreshMine();
    } catch (err) {
      say(byId("bag-note"), describe(err));
    }
    this.render();
  }

  // ---- my orders ----
  async refreshMine() {
    const current = this.session();
    if (!current) return;
    try {
      const answer = await api("/api/me/orders", { token: current.token });
      this.mine = answer.orders;
    } catch {
      return;
    }
    this.renderMine();
  }

  /** An `order` event for one of ours (bag, sale, waitlist or auction): keep "My orders"
   * current. */
  remember(order) {
    if (!order) return;
    const me = this.session();
    if (me && order.user_id && order.user_id !== me.user_id) return;
    const i = this.mine.findIndex((o) => o.order_id === order.order_id);
    if (i >= 0) this.mine[i] = { ...this.mine[i], ...order };
    else this.mine.unshift(order);
    if (this.order && this.order.order_id === order.order_id) this.order = { ...this.order, ...order };
    this.renderMine();
    this.render();
  }

  renderMine() {
    const section = byId("my-orders");
    section.hidden = this.mine.length === 0;
    byId("my-orders-list").replaceChildren(...this.mine.map((o) => h("li", { class: "my-order", dataset: { orderId: o.order_id } },
      h("p", {}, h("strong", {}, `#${o.order_no} · ${STATUS_WORDS[o.status] || o.status}`), ` · ${money(o.amount_cents, o.currency)}`),
      // A sale order's event carries no `lines`: its one line is the order itself.
      h("ul", {}, ...(o.lines || [{ title: o.title, qty: o.qty }]).map((l) => h("li", {},
        `${l.title}${l.label ? ` (${l.label})` : ""} × ${l.qty}${l.queue_position ? ` · queue #${l.queue_position}, ships by ${l.ships_by}` : ""}`))),
      o.tracking ? h("p", { class: "tracking" }, `Tracking: ${o.carrier} ${o.tracking}`) : null)));
  }
}

function leftText(available) {
  if (available === null || available === undefined) return "";
  return available === 0 ? " · sold out" : ` · ${available} left`;
}

function queueText(order) {
  const queued = (order.lines || []).filter((l) => l.queue_position);
  return queued.map((l) => ` ${l.title}: queue position ${l.queue_position}, ships by ${l.ships_by}.`).join("");
}
