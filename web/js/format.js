// Formatting in the reader's language (i18n.js): money, durations, counts, times. No DOM.
import { lang, t } from "./i18n.js";

const moneyFormats = new Map();

/** 32900, "CNY" -> "CN¥329.00" in English, "¥329.00" in Chinese (price_cents: hundredths). */
export function money(cents, currency) {
  if (typeof cents !== "number" || !currency) return "";
  let fmt = moneyFormats.get(currency);
  if (!fmt) {
    try {
      fmt = new Intl.NumberFormat(lang, { style: "currency", currency });
    } catch {
      fmt = { format: (n) => `${n.toFixed(2)} ${currency}` };
    }
    moneyFormats.set(currency, fmt);
  }
  return fmt.format(cents / 100);
}

const numbers = new Intl.NumberFormat(lang);

/** 1200 -> "1,200" the reader's way. */
export function count(n) {
  return numbers.format(Number(n) || 0);
}

/** 272000 -> "4:32"; 3723000 -> "1:02:03"; never negative. */
export function clockText(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** "1 person watching" / "12 people watching". */
export function watching(n) {
  return t("viewers.watching", { count: Number(n) || 0 });
}

/** "12 left", "Last one left", "Sold out". */
export function unitsLeft(left) {
  if (left <= 0) return t("stock.sold_out");
  if (left === 1) return t("stock.last_one");
  return t("stock.left", { count: left });
}

const percents = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });

/** 0.125 -> "12.5%"; a value above 1 is taken as already a percentage. */
export function percent(value) {
  if (typeof value !== "number" || Number.isNaN(value)) return "–";
  return percents.format(value <= 1 ? value : value / 100);
}

/** Price typed by a person ("329", "329.5", "1,299.00") -> cents, or null. */
export function parsePrice(text) {
  const clean = String(text).trim().replace(/,/g, "");
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
  return Math.round(Number(clean) * 100);
}

const times = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dates = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });

/** Epoch ms -> "14:05" in the reader's language. */
export function timeOfDay(ms) {
  return times.format(new Date(ms));
}

/** Epoch ms or "2026-12-24" -> "Dec 24, 2026" / "2026年12月24日". */
export function dateText(when) {
  const date = typeof when === "string" && /^\d{4}-\d\d-\d\d$/.test(when) ? new Date(`${when}T12:00:00`) : new Date(when);
  return Number.isNaN(date.getTime()) ? String(when) : dates.format(date);
}
