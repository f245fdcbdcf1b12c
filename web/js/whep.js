// WHEP playback: a receive-only peer connection whose tracks feed a <video>.
import { openSession } from "./rtc.js";

/**
 * play(roomId, video, {iceServers, token, onState}) -> {stop()}
 * onState(pc.connectionState) on every change; throws ApiError when refused.
 */
export async function play(roomId, video, { iceServers = [], token = null, onState = () => {} }) {
  const pc = new RTCPeerConnection({ iceServers });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const stream = new MediaStream();
  pc.ontrack = (ev) => {
    stream.addTrack(ev.track);
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch(() => {}); // muted autoplay; sound comes with a tap
  };
  const stop = await openSession(pc, `/api/rooms/${encodeURIComponent(roomId)}/whep`, token, onState);
  return { pc, stop };
}
