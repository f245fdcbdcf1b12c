// What WHIP and WHEP share: non-trickle offers, the SDP exchange, ending a session.
import { ApiError } from "./api.js";

/** Resolve once ICE gathering is complete (or after `ms`: send what we have). */
export function gathered(pc, ms = 2500) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ms);
  });
}

/**
 * POST the local offer to a WHIP/WHEP endpoint; apply the answer; the session URL.
 * `onAnswer(headers)` sees the answer's headers (WHEP's X-Live-Media-Clock).
 */
export async function exchange(pc, endpoint, token, onAnswer = () => {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const headers = { "Content-Type": "application/sdp", Accept: "application/sdp" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let answer;
  try {
    answer = await fetch(endpoint, { method: "POST", headers, body: pc.localDescription.sdp });
  } catch {
    throw new ApiError(0, "offline", "The video server cannot be reached.");
  }
  const text = await answer.text();
  if (answer.status !== 201 && answer.status !== 200) {
    let err = {};
    try {
      err = JSON.parse(text).error || {};
    } catch {
      /* not JSON */
    }
    throw new ApiError(answer.status, err.code || `http_${answer.status}`, err.message || text);
  }
  await pc.setRemoteDescription({ type: "answer", sdp: text });
  onAnswer(answer.headers);
  const location = answer.headers.get("Location");
  return location ? new URL(location, answer.url).href : null;
}

/**
 * Offer `pc` to a WHIP/WHEP endpoint and report state changes; the session's stop(),
 * which closes the peer and DELETEs the session once. Closes `pc` when refused.
 */
export async function openSession(pc, endpoint, token, onState, onAnswer = () => {}) {
  pc.onconnectionstatechange = () => onState(pc.connectionState);
  let location;
  try {
    location = await exchange(pc, endpoint, token, onAnswer);
  } catch (err) {
    pc.close();
    throw err;
  }
  let stopped = false;
  return function stop() {
    if (stopped) return;
    stopped = true;
    pc.onconnectionstatechange = null;
    pc.close();
    hangUp(location, token);
  };
}

/** DELETE the session resource; keepalive lets it finish while the page unloads. */
export function hangUp(location, token) {
  if (!location) return;
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  fetch(location, { method: "DELETE", headers, keepalive: true }).catch(() => {});
}
