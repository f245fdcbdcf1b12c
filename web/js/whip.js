// WHIP publishing: a send-only peer connection carrying the camera and microphone.
import { openSession } from "./rtc.js";

// Put the room's codec first, so the offer always includes what the server accepts.
function preferCodec(transceiver, codec) {
  if (!transceiver.setCodecPreferences || !RTCRtpSender.getCapabilities) return;
  const caps = RTCRtpSender.getCapabilities("video");
  if (!caps) return;
  const wanted = `video/${codec}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  if (first.length) transceiver.setCodecPreferences([...first, ...rest]);
}

/**
 * publish(roomId, stream, {token, iceServers, codec, onState}) -> {pc, replaceTrack, stop}
 * Throws ApiError when the server refuses the offer.
 */
export async function publish(roomId, stream, { token, iceServers = [], codec = "vp8", onState = () => {} }) {
  const pc = new RTCPeerConnection({ iceServers });
  const senders = {};
  for (const track of stream.getTracks()) {
    const t = pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    if (track.kind === "video") preferCodec(t, codec);
    senders[track.kind] = t.sender;
  }
  const stop = await openSession(pc, `/api/rooms/${encodeURIComponent(roomId)}/whip`, token, onState);
  return {
    pc,
    stop,
    /** Switch camera or microphone without renegotiating. */
    async replaceTrack(track) {
      const sender = senders[track.kind];
      if (sender) await sender.replaceTrack(track);
    },
  };
}
