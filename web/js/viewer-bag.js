// The viewer's shop bag: the whole line-up at list price with live availability, variants,
// one checkout and one payment; made-to-order queue dates; "My orders".
import { api, describe, newKey } from "./api.js";
import { byId, h, say } from "./dom.js";
import { count, dateText, money } from "./format.js";
import { t, tNodes } from "./i18n.js";

const titled = (text) => h("span", { translate: "no" }, text);

export class Bag {
  /** session() -> {token}|null; needSession(why) -> Promise<session|null>; showBag() brings
   * the bag into view (a sheet on a phone) after the pinned card's Buy. */
  constructor(roomId, { session, needSession, showBag = () => {} }) {
    this.roomId = roomId;
    this.session = session;
    this.needSession = needSession;
    this.showBag = showBag;
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
      select.append(h("option", { value: v.variant_id }, variantText(v)));
    }
    if (variants.some((v) => v.variant_id === chosen)) select.value = chosen;
  }

  buyPinned() {
    if (!this.pinned) return;
    const known = this.products.get(this.pinned.sku) || this.pinned;
    const variant = (known.variants || []).length ? byId("product-variant").value : null;
    this.add(this.pinned.sku, variant);
    this.showBag();
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
      const title = p ? p.title : line.sku;
      return h("li", { class: "bag-line" },
        h("span", {}, ...lineWords(title, v?.label, line.qty)),
        h("button", { type: "button", class: "link-button", onclick: () => this.remove(i),
          "aria-label": t("bag.remove_named", { title }) }, t("bag.remove")));
    }));
    const currency = this.products.values().next().value?.currency || "CNY";
    const total = this.lines.reduce((sum, l) => sum + this.priceOf(l) * l.qty, 0);
    byId("bag-total").textContent = this.lines.length ? t("bag.total", { amount: money(total, currency) }) : t("bag.empty");
    byId("bag-count").textContent = count(this.lines.reduce((sum, l) => sum + l.qty, 0));
    byId("bag-checkout").hidden = this.lines.length === 0 || Boolean(this.order);
    byId("bag-pay").hidden = !this.order || this.order.status !== "held";
  }

  productRow(p) {
    const variants = p.variants || [];
    const row = h("li", { class: "bag-item", dataset: { sku: p.sku } },
      p.image_url ? h("img", { class: "bag-thumb", src: p.image_url, alt: "", width: 48, height: 48 }) : h("span", { class: "bag-thumb" }),
      h("span", { class: "lineup-title", translate: "no" }, p.title),
      h("span", { class: "price" }, money(p.price_cents, p.currency)),
      h("span", { class: "stock" }, stockText(p)));
    let select = null;
    if (variants.length) {
      select = h("select", { "aria-label": t("bag.variant_of", { title: p.title }) },
        ...variants.map((v) => h("option", { value: v.variant_id, disabled: v.available === 0 }, variantText(v))));
      row.append(select);
    }
    const soldOut = !p.made_to_order && p.available === 0;
    row.append(h("button", { type: "button", class: "button", disabled: soldOut,
      "aria-label": soldOut ? null : t("bag.add_named", { title: p.title }),
      onclick: () => this.add(p.sku, select ? select.value : null) }, soldOut ? t("stock.sold_out") : t("bag.add")));
    return row;
  }

  async token(why) {
    const current = this.session() || (await this.needSession(why));
    return current ? current.token : null;
  }

  async checkout() {
    const token = await this.token(t("chat.name_to_check_out"));
    if (!token || !this.lines.length) return;
    const button = byId("bag-checkout");
    button.disabled = true;
    try {
      this.order = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/orders`, {
        method: "POST", token, body: { lines: this.lines }, headers: { "Idempotency-Key": newKey() },
      });
      say(byId("bag-note"), [t("bag.held", { amount: money(this.order.amount_cents, this.order.currency) }), ...queueText(this.order)].join(" "));
    } catch (err) {
      const line = /^lines\[(\d+)\]/.exec(err.extra?.field || "");
      const words = describe(err);
      say(byId("bag-note"), line ? t("bag.error_on_line", { error: words, line: Number(line[1]) + 1 }) : words);
    } finally {
      button.disabled = false;
      this.render();
    }
  }

  async pay() {
    const token = await this.token(t("chat.name_to_pay"));
    if (!token || !this.order) return;
    try {
      this.order = await api(`/api/orders/${encodeURIComponent(this.order.order_id)}/pay`, { method: "POST", token });
      say(byId("bag-note"), [t("bag.paid"), ...queueText(this.order)].join(" "));
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
      h("p", {}, h("strong", {}, t("orders.number_status", { number: o.order_no ?? "", status: t(`order.status.${o.status}`) })),
        " ", h("span", { class: "price" }, money(o.amount_cents, o.currency))),
      // A sale order's event carries no `lines`: its one line is the order itself.
      h("ul", {}, ...(o.lines || [{ title: o.title, qty: o.qty }]).map((l) => h("li", {},
        ...lineWords(l.title, l.label, l.qty),
        l.queue_position ? h("span", { class: "meta" }, " ", t("bag.queue", { position: l.queue_position, date: dateText(l.ships_by) })) : null))),
      o.tracking ? h("p", { class: "tracking" }, ...tNodes("orders.tracking", { carrier: titled(o.carrier), tracking: titled(o.tracking) })) : null)));
  }
}

/** "Linen shirt (M) × 1": the product and variant names stay as the shop wrote them. */
function lineWords(title, label, qty) {
  return label
    ? tNodes("bag.line_variant", { title: titled(title), label: titled(label), qty })
    : tNodes("bag.line", { title: titled(title), qty });
}

function variantText(v) {
  if (v.available === null || v.available === undefined) return v.label;
  return v.available === 0 ? t("bag.variant_sold_out", { label: v.label }) : t("bag.variant_left", { label: v.label, count: v.available });
}

function stockText(p) {
  if (p.made_to_order) return p.queue ? t("bag.made_to_order_queue", { count: p.queue }) : t("bag.made_to_order");
  if (p.available === null || p.available === undefined) return "";
  return p.available === 0 ? t("stock.sold_out") : t("stock.left", { count: p.available });
}

function queueText(order) {
  return (order.lines || []).filter((l) => l.queue_position)
    .map((l) => t("bag.queue_line", { title: l.title, position: l.queue_position, date: dateText(l.ships_by) }));
}
