// The replay of an ended room: its recording in the <video> (seekable, served with byte
// ranges), its chapters as a list and as marks on the timeline, and the card of the
// product pinned at the current position, which follows playback (seeking back shows the
// earlier card). `?t=SECONDS` opens at a moment (search results link there).
import { api } from "./api.js";
import { byId, h } from "./dom.js";
import { t } from "./i18n.js";

const CHAPTER_WORDS = {
  pin: t("replay.chapter.pin"),
  sale: t("replay.chapter.sale"),
  auction: t("replay.chapter.auction"),
  answer: t("replay.chapter.answer"),
};

/** The replay of `roomId` (status "none", "recording" or "ready"), null when unknown. */
export async function fetchReplay(roomId) {
  try {
    return await api(`/api/rooms/${encodeURIComponent(roomId)}/replay`);
  } catch {
    return null;
  }
}

/** "m:ss" (or "h:mm:ss") of a position in ms. */
export function position(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const two = (n) => String(n).padStart(2, "0");
  return hours ? `${hours}:${two(minutes)}:${two(seconds)}` : `${minutes}:${two(seconds)}`;
}

/** The pin chapter in force at `ms`: the latest one at or before it. */
export function pinnedAt(chapters, ms) {
  let found = null;
  for (const chapter of chapters) {
    if (chapter.type === "pin" && chapter.at_ms <= ms) found = chapter;
  }
  return found;
}

export class ReplayPlayer {
  /** onPinned(product|null) whenever the card in force changes. */
  constructor(replay, video, { onPinned }) {
    this.replay = replay;
    this.video = video;
    this.onPinned = onPinned;
    this.products = new Map((replay.products || []).map((p) => [p.sku, p]));
    this.chapters = [...(replay.chapters || [])].sort((a, b) => a.at_ms - b.at_ms);
    this.current = undefined; // the pin chapter whose card is shown
  }

  start(startAtSeconds) {
    const video = this.video;
    video.srcObject = null;
    video.controls = true;
    video.src = this.replay.url;
    if (Number.isFinite(startAtSeconds) && startAtSeconds > 0) {
      video.addEventListener("loadedmetadata", () => this.seek(startAtSeconds * 1000), { once: true });
    }
    for (const name of ["timeupdate", "seeked", "seeking", "loadedmetadata"]) {
      video.addEventListener(name, () => this.follow());
    }
    this.renderChapters();
    this.renderMarks();
    this.follow();
    video.play().catch(() => {}); // muted autoplay; sound with the controls
  }

  /** Seek to a position (ms) of the replay. */
  seek(ms) {
    this.video.currentTime = ms / 1000;
    this.follow(ms);
  }

  follow(ms = this.video.currentTime * 1000) {
    const chapter = pinnedAt(this.chapters, ms);
    if (chapter === this.current) return;
    this.current = chapter;
    const product = chapter ? this.products.get(chapter.sku) || { sku: chapter.sku, title: chapter.title } : null;
    this.onPinned(product);
    for (const item of document.querySelectorAll("#chapter-list [data-at]")) {
      item.classList.toggle("is-current", chapter !== null && Number(item.dataset.at) === chapter.at_ms);
    }
  }

  renderChapters() {
    const list = byId("chapter-list");
    list.replaceChildren(...this.chapters.map((c) => h("li", { dataset: { at: String(c.at_ms), type: c.type } },
      h("button", { type: "button", class: "chapter", onclick: () => this.seek(c.at_ms) },
        h("span", { class: "chapter-at" }, position(c.at_ms)),
        h("span", { class: "chapter-kind" }, CHAPTER_WORDS[c.type] || c.type),
        h("span", { class: "chapter-title", translate: "no" }, c.type === "answer" ? t("replay.answer_line", { question: c.question, answer: c.answer }) : c.title || c.sku || "")))));
    byId("chapters").hidden = this.chapters.length === 0;
  }

  renderMarks() {
    const marks = byId("replay-marks");
    const duration = this.replay.duration_ms || 1;
    marks.replaceChildren(...this.chapters.map((c) => {
      const mark = h("button", {
        type: "button",
        class: `mark is-${c.type}`,
        title: `${position(c.at_ms)} ${c.title || ""}`,
        "aria-label": t("replay.mark_label", { kind: CHAPTER_WORDS[c.type] || c.type, at: position(c.at_ms), title: c.title || "" }),
        onclick: () => this.seek(c.at_ms),
      });
      // Through the CSSOM: the pages' CSP (style-src 'self') refuses style="" attributes.
      mark.style.left = `${Math.min(100, (100 * c.at_ms) / duration).toFixed(2)}%`;
      return mark;
    }));
    marks.hidden = this.chapters.length === 0;
  }
}
