// WHEP playback: a receive-only peer connection whose tracks feed a <video>.
import { exchange, hangUp } from "./rtc.js";

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
  pc.onconnectionstatechange = () => onState(pc.connectionState);
  let location;
  try {
    location = await exchange(pc, `/api/rooms/${encodeURIComponent(roomId)}/whep`, token);
  } catch (err) {
    pc.close();
    throw err;
  }
  let stopped = false;
  return {
    pc,
    stop() {
      if (stopped) return;
      stopped = true;
      pc.onconnectionstatechange = null;
      pc.close();
      hangUp(location, token);
    },
  };
}
