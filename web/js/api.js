// HTTP calls to the live API: JSON in and out, errors as ApiError with the server's code.
import { errorText } from "./i18n.js";

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
    throw new ApiError(0, "offline", "no answer from the server");
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

/** Words a person understands for an ApiError or a websocket error event: the page's own
 * text for the code (i18n.js), never the server's English message. */
export function describe(err) {
  return errorText(err && err.code, document.body.dataset.page || "");
}
