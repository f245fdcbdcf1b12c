// The pages' two languages. The server picks one from Accept-Language and writes it in
// <html lang>; a reader's own choice (the switch) is kept in localStorage and wins.
// Every text is a whole message with named placeholders ("{count} left"), never pieces
// glued together, so a translation can put the words in its own order.
import en from "./i18n/en.js";

export const LANGUAGES = ["en", "zh-CN"];
const STORE_KEY = "live.lang";

/** The page's language from the stored choice, then <html lang>, then the browser's. */
export function chooseLanguage(stored, htmlLang, browserLangs = []) {
  for (const wish of [stored, htmlLang, ...browserLangs]) {
    const found = supported(wish);
    if (found) return found;
  }
  return "en";
}

function supported(tag) {
  const lower = String(tag || "").toLowerCase();
  if (!lower) return null;
  if (lower.startsWith("zh")) return "zh-CN";
  if (lower === "en" || lower.startsWith("en-")) return "en";
  return null;
}

function storedChoice() {
  try {
    return localStorage.getItem(STORE_KEY);
  } catch {
    return null; // storage blocked: the server's choice stands
  }
}

export const lang = chooseLanguage(storedChoice(), document.documentElement.lang, navigator.languages);
const catalog = lang === "en" ? en : { ...en, ...(await import(`./i18n/${lang}.js`)).default };
document.documentElement.lang = lang;

const plurals = new Intl.PluralRules(lang);
const numbers = new Intl.NumberFormat(lang);

function template(key, count) {
  const message = catalog[key];
  if (message === undefined) {
    console.warn(`live: no text for ${key}`);
    return key;
  }
  if (typeof message === "object") return message[plurals.select(count ?? 0)] ?? message.other;
  return message;
}

function written(value) {
  return typeof value === "number" ? numbers.format(value) : String(value);
}

/** The message `key` with its {placeholders} filled; numbers are written the reader's way.
 * A message given as {one, other} is chosen by params.count. */
export function t(key, params = {}) {
  return template(key, params.count).replace(/\{(\w+)\}/g, (whole, name) =>
    params[name] === undefined || params[name] === null ? whole : written(params[name]));
}

/** The message `key` as a list of strings and nodes: a placeholder whose value is a node
 * (a name in its own <span>) takes its place in the sentence, wherever the language puts it. */
export function tNodes(key, params = {}) {
  return template(key, params.count).split(/(\{\w+\})/).filter(Boolean).map((part) => {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (!name || params[name] === undefined || params[name] === null) return part;
    return params[name] instanceof Node ? params[name] : written(params[name]);
  });
}

/** True when the catalog has `key` (for per-page texts that fall back to shared ones). */
export function has(key) {
  return key in catalog;
}

/** The reader's words for a server error code: the page's own (`<page>.error.<code>`), then
 * the shared one, then a general sentence; the server's English message is never shown. */
export function errorText(code, page = "") {
  if (page && has(`${page}.error.${code}`)) return t(`${page}.error.${code}`);
  if (has(`error.${code}`)) return t(`error.${code}`);
  return t("error.other", { code: code || "?" });
}

/** Fill every [data-i18n] element's text and every [data-i18n-attr] ("attr:key attr:key"). */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(/\s+/).filter(Boolean)) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
  document.documentElement.classList.add("i18n-ready");
}

/** The switch in the top bar: it shows the other language's name in that language; its
 * spoken name is the whole sentence ("Switch the language to 中文"), the rest unseen. */
export function mountLanguageSwitch(button) {
  const other = lang === "en" ? "zh-CN" : "en";
  const name = document.createElement("span");
  name.lang = other;
  name.textContent = t(`lang.name.${other}`);
  const unseen = (text) => {
    const span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  };
  button.removeAttribute("aria-label");
  button.removeAttribute("lang");
  button.replaceChildren(...tNodes("lang.switch", { name }).map((part) => (typeof part === "string" ? unseen(part) : part)));
  button.addEventListener("click", () => {
    try {
      localStorage.setItem(STORE_KEY, other);
    } catch {
      /* storage blocked: the switch lasts for this page only */
    }
    location.reload();
  });
}

translatePage();
const switcher = document.getElementById("lang-switch");
if (switcher) mountLanguageSwitch(switcher);
