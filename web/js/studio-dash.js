// The studio's live dashboard: stats, each sale's left/held/sold, orders as they come.
import { api, describe } from "./api.js";
import { serverNow } from "./clock.js";
import { byId, h } from "./dom.js";
import { clockText, count as formatCount, money, percent, timeOfDay } from "./format.js";
import { t, tNodes } from "./i18n.js";

const STATS_EVERY_MS = 5000;

export class Dashboard {
  constructor(roomId, token, titleOf) {
    this.roomId = roomId;
    this.token = token;
    this.titleOf = titleOf; // sku -> product title, from the line-up
    this.currency = null;
    this.peak = 0;
    this.sales = new Map();
    this.orders = new Map();
    this.statsTimer = null;
    setInterval(() => this.tickSales(), 1000);
  }

  start() {
    this.pollStats();
    this.loadOrders();
  }

  // ---- stats: polled, and refreshed soon after every order event ----
  async pollStats() {
    clearTimeout(this.statsTimer);
    try {
      const s = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/stats`, { token: this.token });
      this.showStats(s);
      byId("stats-note").hidden = true;
    } catch (err) {
      const note = byId("stats-note");
      note.hidden = false;
      note.textContent = err.status === 404 || err.status === 0
        ? t("dash.figures_later")
        : t("dash.figures_failed", { error: describe(err) });
    }
    if (!this.stopped) this.statsTimer = setTimeout(() => this.pollStats(), STATS_EVERY_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.statsTimer);
  }

  soonStats() {
    clearTimeout(this.statsTimer);
    this.statsTimer = setTimeout(() => this.pollStats(), 300);
  }

  showStats(s) {
    this.viewers(s.viewers);
    this.peak = Math.max(this.peak, s.peak_viewers || 0);
    byId("stat-peak").textContent = formatCount(this.peak);
    byId("stat-orders").textContent = formatCount(s.orders ?? 0);
    byId("hud-orders").textContent = formatCount(s.orders ?? 0);
    byId("stat-units").textContent = formatCount(s.units_sold ?? 0);
    const gmv = this.currency ? money(s.gmv_cents ?? 0, this.currency) : ((s.gmv_cents ?? 0) / 100).toFixed(2);
    byId("stat-gmv").textContent = gmv;
    byId("hud-gmv").textContent = gmv;
    byId("stat-conversion").textContent = percent(s.conversion);
    if (typeof s.aov_cents === "number") {
      byId("stat-aov").textContent = this.currency ? money(s.aov_cents, this.currency) : (s.aov_cents / 100).toFixed(2);
      byId("stat-repeat").textContent = t("dash.count_and_rate", { count: s.repeat_buyers, rate: percent(s.repeat_buyer_rate) });
      byId("stat-returns").textContent = t("dash.count_and_rate", { count: s.returns, rate: percent(s.return_rate) });
    }
  }

  viewers(n) {
    if (typeof n !== "number") return;
    byId("stat-viewers").textContent = formatCount(n);
    byId("hud-viewers").textContent = formatCount(n);
    this.peak = Math.max(this.peak, n);
    byId("stat-peak").textContent = formatCount(this.peak);
  }

  // ---- orders ----
  async loadOrders() {
    try {
      const { orders } = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/orders?limit=20`, {
        token: this.token,
      });
      for (const o of [...orders].reverse()) this.order(o, false);
    } catch {
      /* the feed fills from events */
    }
  }

  order(o, fresh = true) {
    if (!o || !o.order_id) return;
    this.currency = this.currency || o.currency;
    const known = this.orders.get(o.order_id);
    const line = known ? known.line : h("li", { class: "host-order", dataset: { orderId: o.order_id } });
    this.orders.set(o.order_id, { order: { ...(known?.order || {}), ...o }, line });
    const merged = this.orders.get(o.order_id).order;
    line.dataset.status = merged.status;
    line.replaceChildren(
      h("span", { class: "when" }, timeOfDay(merged.created_at || serverNow())),
      h("span", { class: "what" }, ...tNodes("order.qty_of", { qty: merged.qty, title: h("span", { translate: "no" }, merged.title || merged.sku) })),
      h("span", { class: "amount" }, money(merged.amount_cents, merged.currency)),
      h("span", { class: `pill is-${merged.status}` }, t(`dash.status.${merged.status}`)),
      ...(merged.tracking ? [h("span", { class: "meta", translate: "no" }, `${merged.carrier} ${merged.tracking}`)] : []),
      ...this.orderActions(merged),
    );
    const list = byId("host-orders");
    list.querySelector(".empty")?.remove();
    if (!known) list.prepend(line);
    while (list.children.length > 50) list.lastElementChild.remove();
    if (fresh) this.soonStats();
  }

  /** Ship (carrier, tracking) a paid order; refund (restocking) a paid or later one. */
  orderActions(o) {
    const actions = [];
    if (o.status === "paid") {
      const carrier = h("input", { "aria-label": t("dash.carrier"), placeholder: t("dash.carrier"), size: 6 });
      const tracking = h("input", { "aria-label": t("dash.tracking_label"), placeholder: t("dash.tracking"), size: 10 });
      actions.push(carrier, tracking, h("button", { type: "button", class: "button small",
        onclick: () => this.step(o, "ship", { carrier: carrier.value, tracking: tracking.value }) }, t("dash.ship")));
    }
    if (["paid", "shipped", "delivered", "return_requested", "partly_refunded"].includes(o.status)) {
      actions.push(h("button", { type: "button", class: "button quiet small",
        onclick: () => this.step(o, "refund", { restock: true }) }, t("dash.refund")));
    }
    return actions;
  }

  async step(o, action, body) {
    try {
      const order = await api(`/api/orders/${encodeURIComponent(o.order_id)}/${action}`, { method: "POST", token: this.token, body });
      this.order(order);
    } catch (err) {
      const note = byId("stats-note");
      note.textContent = describe(err);
      note.hidden = false;
    }
  }

  // ---- sales ----
  resetSales(list) {
    this.sales.clear();
    for (const s of list || []) {
      this.currency = this.currency || s.currency;
      this.sales.set(s.sale_id, { ...s });
    }
    this.renderSales();
  }

  upsertSale(sale) {
    if (!sale?.sale_id) return;
    this.currency = this.currency || sale.currency;
    this.sales.set(sale.sale_id, { ...(this.sales.get(sale.sale_id) || {}), ...sale });
    this.renderSales();
  }

  stock({ sale_id, left, held, sold }) {
    const sale = this.sales.get(sale_id);
    if (!sale) return;
    Object.assign(sale, { left, held, sold });
    this.updateSaleLine(sale);
  }

  setStatus(ev, status) {
    const id = ev.sale_id ?? ev.sale?.sale_id;
    if (ev.sale) return this.upsertSale({ ...ev.sale, status });
    const sale = this.sales.get(id);
    if (!sale) return;
    sale.status = status;
    if (typeof ev.left === "number") sale.left = ev.left;
    this.renderSales();
  }

  renderSales() {
    const list = byId("host-sales");
    const sales = [...this.sales.values()].sort((a, b) => (b.starts_at || 0) - (a.starts_at || 0));
    if (!sales.length) return list.replaceChildren(h("li", { class: "empty" }, t("dash.no_sale")));
    list.replaceChildren(...sales.map((s) => this.saleLine(s)));
  }

  saleLine(sale) {
    const line = h("li", { class: "host-sale", dataset: { saleId: sale.sale_id } });
    this.fillSaleLine(line, sale);
    return line;
  }

  updateSaleLine(sale) {
    const line = byId("host-sales").querySelector(`[data-sale-id="${CSS.escape(sale.sale_id)}"]`);
    if (line) this.fillSaleLine(line, sale);
  }

  fillSaleLine(line, sale) {
    const open = sale.status === "open" || sale.status === "scheduled" || sale.status === "sold_out";
    line.dataset.status = sale.status;
    line.replaceChildren(
      ...[
      h("div", { class: "sale-name" }, h("strong", { translate: "no" }, this.titleOf(sale.sku) || sale.sku), " ",
        h("span", { class: `pill is-${sale.status}` }, t(`dash.status.${sale.status}`))),
      h("div", { class: "sale-figures" },
        h("span", { dataset: { role: "left" } }, t("dash.left", { count: sale.left ?? sale.stock })),
        h("span", { dataset: { role: "held" } }, t("dash.held", { count: sale.held ?? 0 })),
        h("span", { dataset: { role: "sold" } }, t("dash.sold", { count: sale.sold ?? 0 })),
        h("span", {}, t("dash.of_stock", { count: sale.stock })),
        h("span", { class: "countdown", dataset: { role: "timer" } }, this.timerWords(sale))),
      open
        ? h("button", { type: "button", class: "button quiet small", onclick: () => this.close(sale.sale_id) }, t("dash.close_sale"))
        : null,
      ].filter(Boolean),
    );
  }

  timerWords(sale) {
    const now = serverNow();
    if (sale.status === "scheduled" && sale.starts_at) return t("dash.starts_in", { time: clockText(sale.starts_at - now) });
    if (sale.status === "closed" || !sale.ends_at) return "";
    return t("dash.ends_in", { time: clockText(sale.ends_at - now) });
  }

  tickSales() {
    for (const sale of this.sales.values()) {
      const timer = byId("host-sales").querySelector(`[data-sale-id="${CSS.escape(sale.sale_id)}"] [data-role=timer]`);
      if (timer) timer.textContent = this.timerWords(sale);
    }
  }

  async close(saleId) {
    try {
      const sale = await api(`/api/sales/${encodeURIComponent(saleId)}/close`, { method: "POST", token: this.token });
      this.upsertSale(sale);
    } catch (err) {
      const note = byId("sale-note");
      note.hidden = false;
      note.textContent = t("dash.close_failed", { error: describe(err) });
    }
  }
}
