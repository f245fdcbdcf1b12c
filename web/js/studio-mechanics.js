// The studio's auctions and questions: open an auction and watch its bids; the question
// queue (newest first) with an answer box per question.
import { api, describe } from "./api.js";
import { serverNow } from "./clock.js";
import { byId, h, say } from "./dom.js";
import { clockText, money, parsePrice } from "./format.js";
import { t, tNodes } from "./i18n.js";

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
    if (start === null) return say(byId("auction-note"), t("auctionform.bad_price"));
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
      say(byId("auction-note"), t("auctionform.opened"));
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
      if (a && a.status !== "ended") el.textContent = t("dash.ends_in", { time: clockText(a.ends_at - serverNow()) });
    }
  }

  render() {
    const list = [...this.auctions.values()].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    const items = list.map((a) => {
      const name = (who) => h("span", { translate: "no" }, who);
      const status = a.status === "ended"
        ? (a.winner_name ? tNodes("dash.auction_won_by", { name: name(a.winner_name) }) : [t("dash.auction_no_winner")])
        : (a.leader_name ? tNodes("dash.auction_leads", { name: name(a.leader_name) }) : [t("dash.auction_no_bid")]);
      const bids = (this.bids.get(a.auction_id) || []).map((b) => h("li", {},
        ...tNodes(b.extended ? "dash.bid_line_extended" : "dash.bid_line", { amount: money(b.price_cents, a.currency), name: name(b.leader_name) })));
      return h(
        "li",
        { class: `host-auction is-${a.status}`, dataset: { auctionId: a.auction_id } },
        h("strong", { translate: "no" }, this.titleOf(a.sku) || a.title || a.sku),
        " ",
        h("span", { class: "meta" }, t("dash.auction_figures", { price: money(a.price_cents, a.currency), count: a.bids || 0 }), " · ", ...status, " · "),
        h("span", { class: "meta", dataset: { role: "countdown", auctionId: a.auction_id } }, a.status === "ended" ? "" : t("dash.ends_in", { time: clockText(a.ends_at - serverNow()) })),
        bids.length ? h("ol", { class: "bid-list", "aria-label": t("dash.latest_bids") }, ...bids) : null,
      );
    });
    byId("host-auctions").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, t("dash.no_auction"))]));
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
      const who = h("strong", { translate: "no" }, q.name);
      const text = h("span", { translate: "no" }, q.text);
      const about = q.sku ? h("span", { translate: "no" }, this.titleOf(q.sku) || q.sku) : null;
      return h(
        "li",
        { class: "question", dataset: { questionId: q.question_id } },
        h("p", {}, ...(about ? tNodes("dash.question_about", { name: who, product: about, text }) : tNodes("dash.question", { name: who, text }))),
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
          h("label", { for: inputId, class: "visually-hidden" }, t("dash.answer_label", { name: q.name })),
          input,
          h("button", { type: "submit", class: "button" }, t("dash.answer")),
        ),
      );
    });
    byId("questions").replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, t("dash.no_question"))]));
    const waiting = byId("questions-count");
    waiting.textContent = String(items.length);
    waiting.hidden = items.length === 0;
    waiting.setAttribute("aria-label", t("dash.questions_waiting", { count: items.length }));
  }
}
