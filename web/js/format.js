// Pure formatting: money, durations, counts. No DOM, no network.

const moneyFormats = new Map();

/** 32900, "CNY" -> "CN¥329.00" (price_cents is always hundredths of the unit). */
export function money(cents, currency) {
  if (typeof cents !== "number" || !currency) return "";
  let fmt = moneyFormats.get(currency);
  if (!fmt) {
    try {
      fmt = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch {
      fmt = { format: (n) => `${n.toFixed(2)} ${currency}` };
    }
    moneyFormats.set(currency, fmt);
  }
  return fmt.format(cents / 100);
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
export function watching(count) {
  const n = Number(count) || 0;
  return n === 1 ? "1 person watching" : `${n.toLocaleString()} people watching`;
}

/** "12 left", "Last one", "Sold out". */
export function unitsLeft(left) {
  if (left <= 0) return "Sold out";
  if (left === 1) return "Last one left";
  return `${left.toLocaleString()} left`;
}

/** 0.125 -> "12.5%"; a value above 1 is taken as already a percentage. */
export function percent(value) {
  if (typeof value !== "number" || Number.isNaN(value)) return "–";
  const pct = Math.round((value <= 1 ? value * 100 : value) * 10) / 10;
  return `${Number.isInteger(pct) ? pct : pct.toFixed(1)}%`;
}

/** Price typed by a person ("329", "329.5", "1,299.00") -> cents, or null. */
export function parsePrice(text) {
  const clean = String(text).trim().replace(/,/g, "");
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
  return Math.round(Number(clean) * 100);
}

/** Epoch ms -> "14:05" in the reader's locale. */
export function timeOfDay(ms) {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}
