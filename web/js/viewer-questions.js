// Questions on the viewer page: ask the host about the product shown, and read the answers
// on the product card (answered questions are everyone's; open ones only the host sees).
import { api } from "./api.js";
import { byId, h, say } from "./dom.js";
import { t } from "./i18n.js";

export class Questions {
  constructor({ send, session, needSession }) {
    this.send = send;
    this.session = session;
    this.needSession = needSession;
    this.sku = null;
    this.answers = [];
    byId("ask-form").addEventListener("submit", (ev) => this.ask(ev));
  }

  /** The product card now shows `sku` (or nothing): load its answered questions. */
  async show(sku) {
    if (sku === this.sku) return;
    this.sku = sku;
    this.answers = [];
    this.render();
    if (!sku) return;
    try {
      const { answers } = await api(`/api/products/${encodeURIComponent(sku)}/answers?limit=20`);
      if (this.sku === sku) this.answers = answers;
    } catch {
      /* new answers still arrive as events */
    }
    this.render();
  }

  onAnswer(ev) {
    if (!ev.sku || ev.sku !== this.sku) return;
    if (this.answers.some((a) => a.question_id === ev.question_id)) return;
    this.answers.unshift({ question_id: ev.question_id, text: ev.question, answer: ev.answer, name: ev.name });
    this.render();
  }

  render() {
    const list = byId("product-answers");
    list.replaceChildren(
      ...this.answers.map((a) =>
        h("li", { class: "qa" },
          h("p", { class: "q" }, h("strong", {}, t("questions.q")), " ", h("span", { translate: "no" }, a.text)),
          h("p", { class: "a" }, h("strong", {}, t("questions.a")), " ", h("span", { translate: "no" }, a.answer))),
      ),
    );
    byId("answers-block").hidden = !this.answers.length;
  }

  async ask(ev) {
    ev.preventDefault();
    const input = byId("ask-input");
    const text = input.value.trim();
    if (!text) return;
    if (!this.session() && !(await this.needSession(t("chat.name_to_ask")))) return;
    const message = this.sku ? { type: "question", text, sku: this.sku } : { type: "question", text };
    if (!this.send(message)) return say(byId("ask-note"), t("questions.offline"));
    input.value = "";
    say(byId("ask-note"), t("questions.sent"));
  }
}
