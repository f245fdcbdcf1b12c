// The viewer's waitlists: join or leave a sold-out sale's line, see one's place, and the
// unit kept for one (an `offer`) with its own countdown and buy button.
import { api, describe } from "./api.js";
import { serverNow } from "./clock.js";
import { h } from "./dom.js";
import { clockText } from "./format.js";
import { t, tNodes } from "./i18n.js";

export class Waitlist {
  /** session(), needSession(why) as for the shop; buy(saleId) takes the kept unit. */
  constructor({ session, needSession, buy, changed }) {
    this.session = session;
    this.needSession = needSession;
    this.buyUnit = buy;
    this.changed = changed;
    this.places = new Map(); // sale_id -> {position, offer_expires_at}
    this.notes = new Map();
    setInterval(() => this.tickOffers(), 500);
  }

  /** A key that changes whenever the box for this sale must be drawn again. */
  key(sale) {
    const p = this.places.get(sale.sale_id);
    return `${p?.position ?? "-"}|${p?.offer_expires_at ?? "-"}|${this.notes.get(sale.sale_id) || ""}`;
  }

  /** What a sold-out sale's card shows: join, one's place and leave, or the offer. */
  box(sale) {
    const p = this.places.get(sale.sale_id);
    const note = h("p", { class: "status-note", role: "status", dataset: { role: "waitlist-note" } }, this.notes.get(sale.sale_id) || "");
    if (p?.offer_expires_at) {
      const timer = h("span", { dataset: { role: "offer-timer" } }, clockText(p.offer_expires_at - serverNow()));
      return h(
        "div",
        { class: "offer", dataset: { role: "offer" } },
        h("p", {}, ...tNodes("waitlist.kept_for", { time: timer })),
        h("button", { type: "button", class: "button primary", onclick: () => this.buyUnit(sale.sale_id) }, t("waitlist.buy_it")),
        h("button", { type: "button", class: "link-button", onclick: () => this.leave(sale.sale_id) }, t("waitlist.no_thanks")),
        note,
      );
    }
    if (p?.position) {
      return h(
        "div",
        { class: "waitlist", dataset: { role: "waitlist" } },
        h("p", { dataset: { role: "position" } }, t("waitlist.position", { position: p.position })),
        h("button", { type: "button", class: "button", onclick: () => this.leave(sale.sale_id) }, t("waitlist.leave")),
        note,
      );
    }
    return h(
      "div",
      { class: "waitlist" },
      h("button", { type: "button", class: "button", dataset: { role: "join" }, onclick: () => this.join(sale.sale_id) }, t("waitlist.join")),
      note,
    );
  }

  async join(saleId) {
    const session = this.session() || (await this.needSession(t("chat.name_to_wait")));
    if (!session) return;
    try {
      const place = await api(`/api/sales/${encodeURIComponent(saleId)}/waitlist`, { method: "POST", token: session.token, body: {} });
      this.places.set(saleId, place);
      this.notes.set(saleId, t("waitlist.joined"));
    } catch (err) {
      if (err.code === "already_offered") this.places.set(saleId, { position: null, offer_expires_at: err.extra.offer_expires_at });
      else this.notes.set(saleId, describe(err));
    }
    this.changed();
  }

  async leave(saleId) {
    const session = this.session();
    if (!session) return;
    try {
      await api(`/api/sales/${encodeURIComponent(saleId)}/waitlist`, { method: "DELETE", token: session.token });
      this.places.delete(saleId);
      this.notes.set(saleId, t("waitlist.left"));
    } catch (err) {
      this.notes.set(saleId, describe(err));
    }
    this.changed();
  }

  onOffer(ev) {
    this.places.set(ev.sale_id, { position: null, offer_expires_at: ev.offer_expires_at });
    this.notes.set(ev.sale_id, t("waitlist.offer"));
    this.changed();
  }

  onOfferExpired(ev) {
    this.places.delete(ev.sale_id);
    this.notes.set(ev.sale_id, t("waitlist.offer_expired"));
    this.changed();
  }

  onClosed(ev) {
    this.places.delete(ev.sale_id);
    this.notes.set(ev.sale_id, t("waitlist.closed"));
    this.changed();
  }

  /** An order of the sale was taken: the offer is used. */
  onOrder(order) {
    const p = this.places.get(order.sale_id);
    if (p?.offer_expires_at && order.status === "held") {
      this.places.delete(order.sale_id);
      this.notes.set(order.sale_id, "");
      this.changed();
    }
  }

  tickOffers() {
    for (const el of document.querySelectorAll("[data-role=offer-timer]")) {
      const saleId = el.closest("[data-sale-id]")?.dataset.saleId;
      const p = saleId && this.places.get(saleId);
      if (p?.offer_expires_at) el.textContent = clockText(p.offer_expires_at - serverNow());
    }
  }
}
