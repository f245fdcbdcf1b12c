// The studio's auctions and questions: open an auction and watch its bids; the question
// queue (newest first) with an answer box per question.
import { api, describe } from "./api.js";
import { serverNow } from "./clock.js";
import { byId, h, say } from "./dom.js";
import { clockText, money, parsePrice } from "./format.js";

export class StudioAuctions {
  constructor(roomId, token, titleOf) {
    this.roomId = roomId;
    this.token = token;
    this.titleOf = titleOf;
    this.auctions = new Map();
    this.bids = new Map(); // auction_id -> latest price changes, newest first
    byId("auction-form").addEventListener("submit", (ev) => this.open(ev));
    setInterval(() => this.tick(), 250);
  }

  async load() {
    try {
      const { auctions } = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/auctions`);
      for (const a of auctions) this.auctions.set(a.auction_id, { ...this.auctions.get(a.auction_id), ...a });
    } catch {
      /* events still come */
    }
    this.render();
  }

  async open(ev) {
    ev.preventDefault();
    const form = ev.target;
    const start = parsePrice(form.start.value);
    if (start === null) return say(byId("auction-note"), "Type the starting price, e.g. 10 or 10.50.");
    const body = {
      sku: form.sku.value,
      start_cents: start,
      duration_s: Number(form.duration_s.value),
      mode: form.mode.value,
      extend_s: Number(form.extend_s.value),
    };
    const reserve = form.reserve.value.trim() ? parsePrice(form.reserve.value) : 0;
    if (reserve) body.reserve_cents = reserve;
    try {
      const auction = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/auctions`, { method: "POST", token: this.token, body });
      this.upsert(auction);
      say(byId("auction-note"), "The auction is open.");
    } catch (err) {
      say(byId("auction-note"), describe(err));
    }
  }

  upsert(auction) {
    if (!auction?.auction_id) return;
    this.auctions.set(auction.auction_id, { ...this.auctions.get(auction.auction_id), ...auction });
    this.render();
  }

  onBid(ev) {
    const list = this.bids.get(ev.auction_id) || [];
    list.unshift(ev);
    this.bids.set(ev.auction_id, list.slice(0, 8));
    const { auction_id, price_cents, leader_id, leader_name, ends_at, bids } = ev;
    this.upsert({ auction_id, price_cents, leader_id, leader_name, ends_at, bids });
  }

  onEnded(ev) {
    this.upsert({ auction_id: ev.auction_id, status: "ended", winner_name: ev.winner_name, price_cents: ev.price_cents });
  }

  tick() {
    for (const el of document.querySelectorAll("#host-auctions [data-role=countdown]")) {
      const a = this.auctions.get(el.dataset.auctionId);
      if (a && a.status !== "ended") el.textContent = `ends in ${clockText(a.ends_at - serverNow())}`;
    }
  }

  render() {
    const list = [...this.auctions.values()].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    const items = list.map((a) => {
      const status = a.status === "ended"
        ? (a.winner_name ? `won by ${a.winner_name}` : "ended, no winner")
        : (a.leader_name ? `${a.leader_name} leads` : "no bid yet");
      const bids = (this.bids.get(a.auction_id) || []).map((b) => h("li", {}, `${money(b.price_cents, a.currency)} · ${b.leader_name}${b.extended ? " · time added" : ""}`));
      return h(
        "li",
        { class: `host-auction is-${a.status}`, dataset: { auctionId: a.auction_id } },
        h("strong", {}, this.titleOf(a.sku) || a.title || a.sku),
        h("span", { class: "meta" }, ` ${money(a.price_cents, a.currency)} · ${a.bids || 0} bids · ${status} · `),
        h("span", { class: "meta", dataset: { role: "countdown", auctionId: a.auction_id } }, a.status === "ended" ? "" : `ends in ${clockText(a.ends_at - serverNow())}`),
        bids.length ? h("ol", { class: "bid-list", "aria-label": "Latest bids" }, ...bids) : null,
      );
    });
    byId("host-auctions").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No auction yet.")]));
  }
}

export class QuestionQueue {
  constructor(roomId, token, send, titleOf) {
    this.roomId = roomId;
    this.token = token;
    this.send = send;
    this.titleOf = titleOf;
    this.open = new Map(); // question_id -> question
  }

  async load() {
    try {
      const { questions } = await api(`/api/rooms/${encodeURIComponent(this.roomId)}/questions`, { token: this.token });
      this.open.clear();
      for (const q of [...questions].reverse()) this.open.set(q.question_id, q);
    } catch {
      /* new questions still come */
    }
    this.render();
  }

  onQuestion(ev) {
    this.open.set(ev.question_id, ev);
    this.render();
  }

  onAnswer(ev) {
    this.open.delete(ev.question_id);
    this.render();
  }

  render() {
    const newestFirst = [...this.open.values()].sort((a, b) => (b.asked_at || 0) - (a.asked_at || 0));
    const items = newestFirst.map((q) => {
      const inputId = `answer-${q.question_id}`;
      const input = h("input", { id: inputId, maxlength: "300", autocomplete: "off", required: true });
      return h(
        "li",
        { class: "question", dataset: { questionId: q.question_id } },
        h("p", {}, h("strong", {}, q.name), q.sku ? ` about ${this.titleOf(q.sku) || q.sku}: ` : ": ", q.text),
        h(
          "form",
          {
            class: "row",
            onsubmit: (ev) => {
              ev.preventDefault();
              const text = input.value.trim();
              if (text) this.send({ type: "answer", question_id: q.question_id, text });
            },
          },
          h("label", { for: inputId, class: "visually-hidden" }, `Answer ${q.name}`),
          input,
          h("button", { type: "submit", class: "button" }, "Answer"),
        ),
      );
    });
    byId("questions").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No question waiting.")]));
  }
}
