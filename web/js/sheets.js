// Phone sheets: on a small screen some cards (the full chat, the bag) slide up over the
// video when asked for and close again; on a laptop they are always in view, and opening
// one only brings it into view. One sheet at a time; Escape closes; focus comes back.
const PHONE = window.matchMedia("(max-width: 899px)");

export function isPhone() {
  return PHONE.matches;
}

export class Sheets {
  /** root: the element whose class says which sheet is open (`is-open-<name>`). */
  constructor(root) {
    this.root = root;
    this.open = null;
    this.opener = null;
    this.previous = null;
    for (const button of root.querySelectorAll("[data-close-sheet]")) {
      button.addEventListener("click", () => this.close());
    }
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape" && this.open) this.close();
    });
  }

  sheet(name) {
    return this.root.querySelector(`[data-sheet="${name}"]`);
  }

  /** Open sheet `name`; with returnAfter, closing it reopens the sheet it was opened over. */
  show(name, { focus = null, opener = null, returnAfter = false } = {}) {
    const sheet = this.sheet(name);
    if (!sheet) return;
    if (!isPhone()) {
      (focus || sheet).scrollIntoView({ block: "nearest" });
      focus?.focus({ preventScroll: true });
      return;
    }
    this.previous = returnAfter && this.open !== name ? this.open : null;
    if (this.open) this.root.classList.remove(`is-open-${this.open}`);
    this.open = name;
    this.opener = opener || (document.activeElement instanceof HTMLElement ? document.activeElement : null);
    this.root.classList.add("has-sheet", `is-open-${name}`);
    this.expanded(name, true);
    (focus || sheet.querySelector(".sheet-close") || sheet).focus({ preventScroll: true });
  }

  /** Close the open sheet; back to the one it was opened over, if asked for. */
  close() {
    if (!this.open) return;
    const name = this.open;
    this.root.classList.remove("has-sheet", `is-open-${name}`);
    this.expanded(name, false);
    this.open = null;
    const back = this.previous;
    this.previous = null;
    if (back) return this.show(back);
    if (this.opener?.isConnected) this.opener.focus({ preventScroll: true });
  }

  /** Close `name` if it is the open one (the work it was opened for is done). */
  done(name) {
    if (this.open === name) this.close();
  }

  expanded(name, value) {
    const sheet = this.sheet(name);
    if (!sheet?.id) return;
    for (const el of document.querySelectorAll(`[aria-controls="${sheet.id}"][aria-expanded]`)) {
      el.setAttribute("aria-expanded", String(value));
    }
  }
}

/** Keep --vvh (and --vvtop) at the visible part of the window, so the on-screen keyboard
 * never covers the message field: the phone layout sizes itself to them. */
export function followVisualViewport(root = document.documentElement) {
  const vv = window.visualViewport;
  if (!vv) return;
  const fit = () => {
    root.style.setProperty("--vvh", `${Math.round(vv.height)}px`);
    root.style.setProperty("--vvtop", `${Math.round(vv.offsetTop)}px`);
  };
  vv.addEventListener("resize", fit);
  vv.addEventListener("scroll", fit);
  fit();
}
