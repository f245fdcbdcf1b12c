// WHEP playback: a receive-only peer connection whose tracks feed a <video>.
import { openSession } from "./rtc.js";

/** The viewer's media clock offset from a WHEP answer's `X-Live-Media-Clock`, or null. */
export function clockOffset(headers) {
  const found = /offset=(\d+)/.exec(headers.get("X-Live-Media-Clock") || "");
  return found ? Number(found[1]) : null;
}

/**
 * play(roomId, video, {iceServers, token, onState, onClock}) -> {stop()}
 * onState(pc.connectionState) on every change; onClock(offset) with the viewer's media
 * clock (docs/protocol.md); throws ApiError when refused.
 */
export async function play(roomId, video, { iceServers = [], token = null, onState = () => {}, onClock = () => {} }) {
  const pc = new RTCPeerConnection({ iceServers });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (ev) => {
    stream.addTrack(ev.track);
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch(() => {}); // muted autoplay; sound comes with a tap
  };
  const endpoint = `/api/rooms/${encodeURIComponent(roomId)}/whep`;
  const stop = await openSession(pc, endpoint, token, onState, (headers) => onClock(clockOffset(headers)));
  return { pc, stop };
}
