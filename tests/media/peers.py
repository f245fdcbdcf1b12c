"""Real aiortc peers for the media tests: a synthetic publisher and a recording viewer.

The publisher sends pre-encoded frames carrying a frame counter (no codec work, so tests
stay light on a loaded machine); the viewer records the encoded frames it receives, so a
test can check they are the publisher's frames, in order, untouched.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from live.media import aiortc_private
from live.media.frames import EncodedFrame
from live.media.tracks import VIDEO_TIME_BASE, make_packet

FRAME_BYTES = 3000  # three RTP packets per frame


def synthetic_frame(counter: int, keyframe: bool) -> bytes:
    """A VP8-looking frame: first byte's lowest bit 0 for a keyframe; then the counter."""
    head = bytes([0x10 if keyframe else 0x11])
    body = counter.to_bytes(4, "big")
    return head + body + bytes((counter + i) % 251 for i in range(FRAME_BYTES - 5))


def synthetic_h264(counter: int, keyframe: bool) -> bytes:
    """One Annex B NAL unit (IDR or not) carrying the counter as digits."""
    nal = bytes([0x65 if keyframe else 0x41]) + b"%010d" % counter
    return b"\x00\x00\x00\x01" + nal + b"\x55" * (FRAME_BYTES - len(nal))


def counter_of(data: bytes) -> int:
    if data.startswith(b"\x00\x00\x00\x01"):
        return int(data[5:15])
    return int.from_bytes(data[1:5], "big")


class CounterTrack(MediaStreamTrack):
    """Pre-encoded video at `fps`; a keyframe first and whenever the receiver asks."""

    kind = "video"

    def __init__(
        self, fps: int = 30, keyframe_every: int = 0, first: int = 0, codec: str = "vp8"
    ) -> None:
        super().__init__()
        self.codec = codec
        self.make = synthetic_h264 if codec == "h264" else synthetic_frame
        self.fps = fps
        self.first = first
        self.counter = first
        self.keyframe_every = keyframe_every
        self.want_keyframe = True
        self.keyframes = 0
        self._start: float | None = None

    def request_keyframe(self) -> None:
        self.want_keyframe = True

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + (self.counter - self.first) / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        periodic = self.keyframe_every and self.counter % self.keyframe_every == 0
        keyframe = self.want_keyframe or bool(periodic)
        self.want_keyframe = False
        self.keyframes += keyframe
        packet = make_packet(self.make(self.counter, keyframe), self.counter * 3000, "video")
        self.counter += 1
        return packet


class ToneTrack(MediaStreamTrack):
    """Pre-encoded 'Opus' packets every 20 ms carrying a counter."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self._start: float | None = None

    async def recv(self) -> Any:
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.counter * 0.02 - time.monotonic()))
        packet = make_packet(b"\xfc" + self.counter.to_bytes(4, "big"), self.counter * 960, "audio")
        self.counter += 1
        return packet


@dataclass
class Peer:
    pc: RTCPeerConnection
    location: str = ""
    frames: list[tuple[float, EncodedFrame]] = field(default_factory=list)
    audio: list[EncodedFrame] = field(default_factory=list)
    answer: httpx.Response | None = None
    # The SSRC of the video this viewer receives (for sending it PLIs).
    ssrc: int | None = None

    def on_video(self, frame: EncodedFrame, ssrc: int) -> None:
        self.ssrc = ssrc
        self.frames.append((time.monotonic(), frame))

    async def send_pli(self) -> None:
        """Ask the server for a keyframe, as a decoder that lost the picture does."""
        assert self.ssrc is not None, "no video received yet"
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.kind == "video")
        await aiortc_private.send_pli(receiver, self.ssrc)

    @property
    def counters(self) -> list[int]:
        return [counter_of(f.data) for _, f in self.frames]

    async def wait_frames(self, n: int, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while len(self.frames) < n:
            assert time.monotonic() < deadline, f"only {len(self.frames)} frames arrived"
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.pc.close()


async def negotiate(
    http: httpx.AsyncClient, url: str, pc: RTCPeerConnection, token: str | None
) -> httpx.Response:
    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await http.post(url, content=pc.localDescription.sdp, headers=headers)
    assert answer.status_code == 201, answer.text
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    return answer


def only_codec(kind: str, codec: str) -> list[Any]:
    """aiortc's capabilities for one video codec (with RTX), for an offer of it alone."""
    wanted = {f"video/{codec}", "video/rtx"}
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted]


async def publish(
    http: httpx.AsyncClient, room_id: str, token: str, track: MediaStreamTrack, audio: bool = False
) -> Peer:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    transceiver = pc.addTransceiver(track, direction="sendonly")
    if isinstance(track, CounterTrack):
        aiortc_private.on_keyframe_request(transceiver.sender, track.request_keyframe)
    codec = getattr(track, "codec", "vp8")
    if codec != "vp8":
        # Offered alone: the room's codec is the publisher's first choice.
        transceiver.setCodecPreferences(only_codec("video", codec))
    if audio:
        pc.addTransceiver(ToneTrack(), direction="sendonly")
    answer = await negotiate(http, f"/api/rooms/{room_id}/whip", pc, token)
    return Peer(pc, answer.headers["location"], answer=answer)


async def watch(
    http: httpx.AsyncClient,
    room_id: str,
    token: str | None = None,
    audio: bool = False,
    codec: str = "vp8",
) -> Peer:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer = Peer(pc)
    video = pc.addTransceiver("video", direction="recvonly")
    aiortc_private.tap_encoded_frames(video.receiver, "video", peer.on_video, codec)
    if audio:
        sound = pc.addTransceiver("audio", direction="recvonly")
        aiortc_private.tap_encoded_frames(
            sound.receiver, "audio", lambda f, s: peer.audio.append(f)
        )
    answer = await negotiate(http, f"/api/rooms/{room_id}/whep", pc, token)
    peer.location = answer.headers["location"]
    peer.answer = answer
    return peer


class SmallPicture(MediaStreamTrack):
    """Raw 160x120 frames for aiortc to encode with libvpx (a real VP8 stream)."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self.count = 0

    async def recv(self) -> Any:
        import av

        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.count / 30 - time.monotonic()))
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([self.count % 256]) * plane.buffer_size)
        frame.pts = self.count * 3000
        frame.time_base = VIDEO_TIME_BASE
        self.count += 1
        return frame


def drop_packets(receiver: Any, every: int) -> set[int]:
    """Test-only: lose every `every`-th media packet on its way to this receiver, once.

    Wraps aiortc's private `_handle_rtp_packet` on one receiver instance; retransmissions
    (another SSRC) pass.
    """
    original = receiver._handle_rtp_packet
    dropped: set[int] = set()
    media_ssrc: list[int] = []

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        if not media_ssrc:
            media_ssrc.append(packet.ssrc)
        seq = packet.sequence_number
        if packet.ssrc == media_ssrc[0] and seq % every == 0 and seq not in dropped:
            dropped.add(seq)
            return
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle
    return dropped


async def _nothing(*args: Any) -> None:
    return None


def cut_network(pc: RTCPeerConnection) -> None:
    """Test-only: the peer's network goes silent both ways (a pulled cable, a lost Wi-Fi).

    No DTLS close_notify and no ICE goodbye: the other end only notices when its ICE
    consent checks go unanswered. Silences aioice's private sockets of every transport.
    """
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        protocols: list[Any] = list(connection._protocols)
        for protocol in protocols:
            protocol.datagram_received = lambda data, addr: None
            protocol.send_stun = lambda message, addr: None
            protocol.send_data = _nothing
