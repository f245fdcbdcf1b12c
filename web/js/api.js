// HTTP calls to the live API: JSON in and out, errors as ApiError with the server's code.

export class ApiError extends Error {
  /** status 0 means the request never got an answer (offline, server down). */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }

  /** True when nothing definite came back, so the same request may be sent again. */
  get retryable() {
    return this.status === 0 || this.status === 503 || this.status === 502 || this.status === 504;
  }
}

/** Call the API; answers the decoded JSON body or throws ApiError. */
export async function api(path, { method = "GET", body, token, headers = {}, keepalive } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, keepalive };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let answer;
  try {
    answer = await fetch(path, init);
  } catch {
    throw new ApiError(0, "offline", "The shop cannot be reached. Check your connection.");
  }
  const text = await answer.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!answer.ok) {
    const err = (data && data.error) || {};
    const { code, message, ...extra } = err;
    throw new ApiError(answer.status, code || `http_${answer.status}`, message || answer.statusText, extra);
  }
  return data;
}

/** A fresh Idempotency-Key (crypto.randomUUID needs a secure page; this does not). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** ICE servers and codec for WebRTC; no ICE servers when the server does not say. */
export async function mediaConfig() {
  try {
    const cfg = await api("/api/media/config");
    const servers = (cfg.ice_servers || []).map((s) => (typeof s === "string" ? { urls: s } : s));
    return { iceServers: servers, codec: (cfg.codec || "vp8").toLowerCase() };
  } catch {
    return { iceServers: [], codec: "vp8" };
  }
}

const WORDS = {
  offline: "The shop cannot be reached. Check your connection and try again.",
  unavailable: "The shop is busy for a moment; nothing was taken. Try again.",
  rate_limited: "Too many tries in a short time. Wait a few seconds, then try again.",
  sold_out: "Sold out. Every unit has been taken.",
  not_enough_left: "Not that many are left. Choose fewer.",
  limit_reached: "You have reached the limit per buyer for this sale.",
  sale_not_open: "This sale is not open right now.",
  hold_expired: "The hold ran out before payment, so the units went back on sale.",
  order_cancelled: "This order was cancelled.",
  already_paid: "This order is already paid.",
  payment_declined: "The payment was declined, and nothing was charged. The units stay held until the timer runs out.",
  room_ended: "This room has ended.",
  muted: "The host has muted you for a while. You can still watch and buy.",
  forbidden: "You are not allowed to do that here.",
  unauthorized: "Your session has run out. Choose your name again to continue.",
  not_found: "That could not be found.",
  too_large: "That message is too long.",
  idempotency_mismatch: "That purchase was already sent with different details. Tap buy again.",
  unsupported_codec: "This browser cannot send or play the room's video format.",
};

/** Words a person understands for an ApiError or a websocket error event. */
export function describe(err) {
  return WORDS[err.code] || err.message || "Something went wrong. Try again.";
}
