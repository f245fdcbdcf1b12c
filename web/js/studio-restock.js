// The studio's restock control: units on hand of a line-up product (or one of its
// variants), set with PUT /api/products/{sku}/stock; the line-up shows the new figures.
import { api, describe } from "./api.js";
import { byId, say } from "./dom.js";
import { t } from "./i18n.js";

export class Restock {
  /** `lineup`: the studio's sku -> product map; `changed(product)` after a restock. */
  constructor(token, lineup, changed) {
    this.token = token;
    this.lineup = lineup;
    this.changed = changed;
    this.form = byId("restock");
    this.sku = byId("restock-sku");
    this.variant = byId("restock-variant");
    this.units = byId("restock-units");
    this.note = byId("restock-note");
    this.sku.addEventListener("change", () => this.fillVariants());
    this.variant.addEventListener("change", () => this.fillUnits());
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
  }

  /** Offer the line-up's stocked products (made-to-order ones have no stock). */
  render() {
    const chosen = this.sku.value;
    const stocked = [...this.lineup.values()].filter((p) => !p.made_to_order);
    this.sku.replaceChildren(...stocked.map((p) => new Option(p.title, p.sku)));
    if (stocked.some((p) => p.sku === chosen)) this.sku.value = chosen;
    this.form.hidden = stocked.length === 0;
    this.fillVariants();
  }

  product() {
    return this.lineup.get(this.sku.value);
  }

  fillVariants() {
    const variants = this.product()?.variants || [];
    const chosen = this.variant.value;
    this.variant.replaceChildren(...variants.map((v) => new Option(v.label, v.variant_id)));
    if (variants.some((v) => v.variant_id === chosen)) this.variant.value = chosen;
    byId("restock-variant-field").hidden = variants.length === 0;
    this.fillUnits();
  }

  /** The units on hand now, as the starting figure. */
  fillUnits() {
    const p = this.product();
    if (!p) return;
    const variant = (p.variants || []).find((v) => v.variant_id === this.variant.value);
    const stock = variant ? variant.stock : p.stock;
    if (typeof stock === "number") this.units.value = String(stock);
  }

  async submit() {
    const p = this.product();
    if (!p) return;
    const body = { stock: Number(this.units.value) };
    const variant = (p.variants || []).find((v) => v.variant_id === this.variant.value);
    if (variant) body.variant_id = variant.variant_id;
    const what = variant ? t("restock.what_variant", { title: p.title, label: variant.label }) : p.title;
    try {
      const product = await api(`/api/products/${encodeURIComponent(p.sku)}/stock`, { method: "PUT", token: this.token, body });
      this.changed(product);
      say(this.note, t("restock.done", { what, stock: body.stock }));
    } catch (err) {
      const taken = err.extra?.taken;
      say(this.note, err.code === "stock_below_held" ? t("restock.below_held", { what, taken }) : describe(err));
    }
  }
}
