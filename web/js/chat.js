// The chat log: one line per msg_id (never twice), newest at the bottom, capped.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const KEEP = 200;

export class ChatLog {
  /** actions(msg) -> extra elements for a line (the studio's moderation buttons). */
  constructor(list, { actions = null } = {}) {
    this.list = list;
    this.actions = actions;
    this.lines = new Map();
    // Lines are <li> in a list; in a role="log" box (no list semantics there) they are <div>.
    this.itemTag = list.tagName === "OL" || list.tagName === "UL" ? "li" : "div";
  }

  /** Replace everything with a snapshot's latest messages. */
  reset(messages) {
    this.lines.clear();
    this.list.replaceChildren();
    for (const msg of messages || []) this.add(msg);
  }

  add(msg) {
    const id = msg.msg_id ?? `seq-${msg.seq}`;
    if (this.lines.has(id)) return;
    const stick = this._atBottom();
    // Staff lines carry a badge the server vouches for (`role`), so a viewer named like
    // the host never looks like the host.
    const staff = msg.role === "host" || msg.role === "admin";
    const line = h(
      this.itemTag,
      {
        class: staff ? `chat-line chat-staff chat-${msg.role}` : "chat-line",
        dataset: { msgId: id, userId: msg.user_id || "", role: msg.role || "viewer" },
      },
      staff ? h("span", { class: "chat-badge" }, msg.role === "host" ? t("chat.badge_host") : t("chat.badge_staff")) : null,
      h("span", { class: "chat-name", translate: msg.name ? "no" : null }, msg.name || t("chat.someone")),
      " ",
      h("span", { class: "chat-text", translate: "no" }, msg.text || ""),
      this.actions ? this.actions(msg) : null,
    );
    this.lines.set(id, line);
    this.list.append(line);
    while (this.lines.size > KEEP) {
      const [oldest, el] = this.lines.entries().next().value;
      this.lines.delete(oldest);
      el.remove();
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  remove(msgId) {
    const line = this.lines.get(msgId);
    if (!line) return;
    line.remove();
    this.lines.delete(msgId);
  }

  /** A system note in the log (e.g. "Slow mode is on"). */
  note(text) {
    this.list.append(h(this.itemTag, { class: "chat-note" }, text));
    this.list.scrollTop = this.list.scrollHeight;
  }

  _atBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
  }
}
