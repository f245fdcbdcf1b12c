// The viewer's auctions: price, leader, a countdown on the server's clock, the bid button
// with the next amount, and a max bid that bids by proxy.
import { api, describe, newKey } from "./api.js";
import { nextBid } from "./auction-rules.js";
import { serverNow } from "./clock.js";
import { byId, h } from "./dom.js";
import { clockText, money, parsePrice } from "./format.js";
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
    if (wasMine && leader_id !== this.me()) this.notes.set(auction_id, "You were outbid. Bid again to lead.");
    else if (leader_id === this.me()) this.notes.set(auction_id, "You lead.");
    if (ev.extended) this.notes.set(auction_id, `${this.notes.get(auction_id) || ""} Time added: a bid came in the last seconds.`.trim());
    this.render(auction_id);
  }

  onEnded(ev) {
    this.upsert({ ...ev, status: "ended", type: undefined, seq: undefined, ts: undefined });
    const mine = ev.winner_id && ev.winner_id === this.me();
    this.notes.set(ev.auction_id, mine ? "You won! Pay for it below before the timer runs out." : "");
    this.render(ev.auction_id);
  }

  tick() {
    for (const [id, view] of this.cards) {
      const a = this.auctions.get(id);
      if (a) view.timer.textContent = this.timerWords(a);
    }
  }

  timerWords(a) {
    if (a.status === "ended") return "Ended";
    return `Ends in ${clockText(a.ends_at - serverNow())}`;
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
    view.leader.textContent = a.status === "ended"
      ? (a.winner_name ? `Won by ${mine ? "you" : a.winner_name}` : "Ended with no winner")
      : (a.leader_name ? `Leading: ${mine ? "you" : a.leader_name}` : "No bid yet: be the first");
    view.timer.textContent = this.timerWords(a);
    view.note.textContent = this.notes.get(id) || "";
    const open = a.status !== "ended";
    view.form.hidden = !open;
    const amount = nextBid(a);
    view.bid.textContent = this.busy.has(id) ? "Bidding…" : `Bid ${money(amount, a.currency)}`;
    view.bid.disabled = this.busy.has(id) || Boolean(mine);
    view.bid.dataset.amount = String(amount);
  }

  newCard(a) {
    const id = `auction-${a.auction_id}`;
    const title = h("h2", { class: "product-title", id: `${id}-title` }, a.title || "Auction");
    productOf(a.sku).then((p) => p && (title.textContent = p.title));
    const maxId = `${id}-max`;
    const view = {
      price: h("span", { class: "price", dataset: { role: "price" } }),
      leader: h("p", { class: "leader", dataset: { role: "leader" } }),
      timer: h("p", { class: "countdown", dataset: { role: "countdown" } }),
      bid: h("button", { type: "button", class: "button primary", dataset: { role: "bid" } }, "Bid"),
      max: h("input", { id: maxId, inputmode: "decimal", dataset: { role: "max" }, placeholder: "e.g. 120" }),
      note: h("p", { class: "status-note", role: "status", dataset: { role: "note" } }),
    };
    view.bid.addEventListener("click", () => this.bid(a.auction_id, Number(view.bid.dataset.amount)));
    const maxButton = h("button", { type: "submit", class: "button", dataset: { role: "max-bid" } }, "Set max bid");
    view.form = h(
      "form",
      {
        class: "bid-form",
        onsubmit: (ev) => {
          ev.preventDefault();
          const top = parsePrice(view.max.value);
          const amount = Number(view.bid.dataset.amount);
          if (top === null || top < amount) {
            this.notes.set(a.auction_id, `A max bid must be at least ${money(amount, a.currency)}.`);
            return this.render(a.auction_id);
          }
          this.bid(a.auction_id, amount, top);
        },
      },
      view.bid,
      h("label", { for: maxId }, "Or bid for me up to"),
      view.max,
      maxButton,
    );
    view.card = h(
      "section",
      { id, "aria-labelledby": `${id}-title`, dataset: { auctionId: a.auction_id } },
      h("p", { class: "eyebrow" }, a.mode === "sudden_death" ? "Auction · sudden death" : "Auction"),
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
    const session = this.session() || (await this.needSession("Choose a name to bid."));
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
          this.notes.set(auctionId, answer.leading ? "You lead." : "Outbid at once by another bidder's max bid.");
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
      const words = { bid_too_low: "Someone bid first. The button shows the next amount.", auction_ended: "The auction has ended." };
      this.notes.set(auctionId, words[err.code] || describe(err));
      if (err.code === "bid_too_low" || err.code === "auction_ended") this.load();
    } finally {
      this.busy.delete(auctionId);
      this.render(auctionId);
    }
  }
}

