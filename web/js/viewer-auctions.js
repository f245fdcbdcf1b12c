// The viewer's auctions: price, leader, a countdown on the server's clock, the bid button
// with the next amount, and a max bid that bids by proxy.
import { api, describe, newKey } from "./api.js";
import { nextBid } from "./auction-rules.js";
import { serverNow } from "./clock.js";
import { byId, h } from "./dom.js";
import { clockText, money, parsePrice } from "./format.js";
import { t } from "./i18n.js";
import { productOf } from "./viewer-shop.js";

export class Auctions {
  /** session() -> {token,user_id}|null; needSession(why) asks for a name. */
  constructor(roomId, { session, needSession, onUnauthorized }) {
    this.roomId = roomId;
    this.session = session;
    this.needSession = needSession;
    this.onUnauthorized = onUnauthorized;
    this.auctions = new Map();
    this.cards = new Map();
    this.notes = new Map();
    this.busy = new Set();
    setInterval(() => this.tick(), 250);
  }

  /** Read the room's auctions (on every snapshot: events before it are not replayed). */
  async load() {
    try {
      const { auctions } = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/auctions`);
      for (const a of auctions) this.upsert(a);
    } catch {
      /* the events still bring new auctions */
    }
  }

  upsert(auction) {
    if (!auction?.auction_id) return;
    const known = this.auctions.get(auction.auction_id) || {};
    this.auctions.set(auction.auction_id, { ...known, ...auction });
    this.render(auction.auction_id);
  }

  me() {
    return this.session()?.user_id || null;
  }

  onBid(ev) {
    const known = this.auctions.get(ev.auction_id);
    if (!known) return this.load();
    const wasMine = known.leader_id && known.leader_id === this.me();
    const { auction_id, price_cents, leader_id, leader_name, ends_at, increment_cents, bids } = ev;
    this.upsert({ auction_id, price_cents, leader_id, leader_name, ends_at, increment_cents, bids });
    if (wasMine && leader_id !== this.me()) this.notes.set(auction_id, t("auction.outbid"));
    else if (leader_id === this.me()) this.notes.set(auction_id, t("auction.you_lead"));
    if (ev.extended) {
      const before = this.notes.get(auction_id);
      this.notes.set(auction_id, before ? t("auction.note_and_time_added", { note: before }) : t("auction.time_added"));
    }
    this.render(auction_id);
  }

  onEnded(ev) {
    this.upsert({ ...ev, status: "ended", type: undefined, seq: undefined, ts: undefined });
    const mine = ev.winner_id && ev.winner_id === this.me();
    this.notes.set(ev.auction_id, mine ? t("auction.you_won") : "");
    this.render(ev.auction_id);
  }

  tick() {
    for (const [id, view] of this.cards) {
      const a = this.auctions.get(id);
      if (a) view.timer.textContent = this.timerWords(a);
    }
  }

  timerWords(a) {
    if (a.status === "ended") return t("auction.ended");
    return t("sale.ends_in", { time: clockText(a.ends_at - serverNow()) });
  }

  render(id) {
    const a = this.auctions.get(id);
    if (!a) return;
    let view = this.cards.get(id);
    if (!view) {
      view = this.newCard(a);
      this.cards.set(id, view);
      byId("auctions").prepend(view.card);
    }
    const mine = a.leader_id && a.leader_id === this.me();
    view.card.className = `card auction is-${a.status}${mine ? " is-leading" : ""}`;
    view.price.textContent = money(a.price_cents, a.currency);
    view.leader.textContent = leaderWords(a, mine);
    view.timer.textContent = this.timerWords(a);
    view.note.textContent = this.notes.get(id) || "";
    const open = a.status !== "ended";
    view.form.hidden = !open;
    const amount = nextBid(a);
    view.bid.textContent = this.busy.has(id) ? t("auction.bidding") : t("auction.bid_amount", { amount: money(amount, a.currency) });
    view.bid.disabled = this.busy.has(id) || Boolean(mine);
    view.bid.dataset.amount = String(amount);
  }

  newCard(a) {
    const id = `auction-${a.auction_id}`;
    const title = h("h2", { class: "product-title", id: `${id}-title`, translate: a.title ? "no" : null }, a.title || t("auction.eyebrow"));
    productOf(a.sku).then((p) => {
      if (!p) return;
      title.translate = false;
      title.textContent = p.title;
    });
    const maxId = `${id}-max`;
    const view = {
      price: h("span", { class: "price", dataset: { role: "price" } }),
      leader: h("p", { class: "leader", dataset: { role: "leader" } }),
      timer: h("p", { class: "countdown", dataset: { role: "countdown" } }),
      bid: h("button", { type: "button", class: "button primary", dataset: { role: "bid" } }, t("auction.bid")),
      max: h("input", { id: maxId, inputmode: "decimal", dataset: { role: "max" }, placeholder: t("auction.max_placeholder") }),
      note: h("p", { class: "status-note", role: "status", dataset: { role: "note" } }),
    };
    view.bid.addEventListener("click", () => this.bid(a.auction_id, Number(view.bid.dataset.amount)));
    const maxButton = h("button", { type: "submit", class: "button", dataset: { role: "max-bid" } }, t("auction.set_max"));
    view.form = h(
      "form",
      {
        class: "bid-form",
        onsubmit: (ev) => {
          ev.preventDefault();
          const top = parsePrice(view.max.value);
          const amount = Number(view.bid.dataset.amount);
          if (top === null || top < amount) {
            this.notes.set(a.auction_id, t("auction.max_at_least", { amount: money(amount, a.currency) }));
            return this.render(a.auction_id);
          }
          this.bid(a.auction_id, amount, top);
        },
      },
      view.bid,
      h("label", { for: maxId }, t("auction.max_label")),
      view.max,
      maxButton,
    );
    view.card = h(
      "section",
      { id, "aria-labelledby": `${id}-title`, dataset: { auctionId: a.auction_id } },
      h("p", { class: "eyebrow" }, a.mode === "sudden_death" ? t("auction.eyebrow_sudden") : t("auction.eyebrow")),
      title,
      h("p", { class: "price-line" }, view.price),
      view.leader,
      view.timer,
      view.form,
      view.note,
    );
    return view;
  }

  /** One bid; a retry after no answer reuses the key, so it is never counted twice. */
  async bid(auctionId, amount, maxCents) {
    if (this.busy.has(auctionId)) return;
    const session = this.session() || (await this.needSession(t("chat.name_to_bid")));
    if (!session) return;
    this.busy.add(auctionId);
    this.render(auctionId);
    const body = maxCents ? { amount_cents: amount, max_cents: maxCents } : { amount_cents: amount };
    const key = newKey();
    try {
      for (let i = 0; ; i++) {
        try {
          const answer = await api(`/api/auctions/${encodeURIComponent(auctionId)}/bids`, {
            method: "POST", token: session.token, body, headers: { "Idempotency-Key": key },
          });
          this.notes.set(auctionId, answer.leading ? t("auction.you_lead") : t("auction.outbid_by_max"));
          const known = this.auctions.get(auctionId) || {};
          // The `bid` event may have come first, with a later price: never step back.
          if (!(known.price_cents > answer.price_cents)) {
            const { price_cents, leader_id, ends_at } = answer;
            this.upsert({ auction_id: auctionId, price_cents, leader_id, ends_at, bids: Math.max(known.bids || 0, 1) });
          }
          break;
        } catch (err) {
          if (err.retryable && i < 2) {
            await new Promise((r) => setTimeout(r, 500 * (i + 1)));
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      if (err.status === 401) this.onUnauthorized();
      this.notes.set(auctionId, describe(err));
      if (err.code === "bid_too_low" || err.code === "auction_ended") this.load();
    } finally {
      this.busy.delete(auctionId);
      this.render(auctionId);
    }
  }
}

function leaderWords(a, mine) {
  if (a.status === "ended") {
    if (!a.winner_name) return t("auction.no_winner");
    return mine ? t("auction.won_by_you") : t("auction.won_by", { name: a.winner_name });
  }
  if (!a.leader_name) return t("auction.no_bid_yet");
  return mine ? t("auction.leading_you") : t("auction.leading", { name: a.leader_name });
}
