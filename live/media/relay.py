"""One room's media: the publishing session, the viewers, and forwarding between them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection

from live import metrics
from live.media import aiortc_private
from live.media.frames import EncodedFrame, Throttle, is_keyframe
from live.media.mediaclock import RoomClock
from live.media.recorder import PartRecorder
from live.media.sender import ViewerSender, abs_send_time, ntp_now
from live.routing.link import LinkFrame

log = logging.getLogger("live.media")
FRAMES = {kind: metrics.MEDIA_FRAMES.labels(kind) for kind in ("audio", "video")}

# At most one upstream keyframe request per room per this many seconds.
PLI_INTERVAL_S = 0.5
# A viewer still waiting for a keyframe after this long asks again.
KEYFRAME_RETRY_S = 1.0


@dataclass(eq=False)
class MediaSession:
    """One WHIP (publisher) or WHEP (viewer) peer connection."""

    session_id: str
    room_id: str
    role: str
    pc: RTCPeerConnection
    created: float = field(default_factory=time.monotonic)
    connected: bool = False
    closed: bool = False
    senders: dict[str, ViewerSender] = field(default_factory=dict)
    receivers: dict[str, Any] = field(default_factory=dict)
    ssrcs: dict[str, int] = field(default_factory=dict)


# The origin's copy of each frame for the relay link: (kind, keyframe, source, ts, data,
# codec).
FrameOut = Callable[[str, bool, int, int, bytes, str], None]


class RoomRelay:
    """Forwards the room's encoded frames to every viewer's sending tracks.

    The frames come from this process's publisher (this process is the room's origin), or
    over the relay link from the origin worker (`forward_link`: this process is an edge,
    its "publisher" is the link). Viewers are served the same way in both cases.

    At the origin, each frame's RTP timestamp out is its position on the room's media
    clock (`clock`, set by the hub); edges pass the origin's on. The room's video codec is
    its publisher's (`codec`); a frame also goes to the recorder of the replay's current
    part (`recorder`), after it was sent to every viewer.
    """

    def __init__(self, room_id: str, codec: str) -> None:
        self.room_id = room_id
        self.codec = codec
        self.clock: RoomClock | None = None
        self.recorder: PartRecorder | None = None
        self.publisher: MediaSession | None = None
        # Origin: each publisher frame also goes to the relay link (set by the hub).
        self.on_frame: FrameOut | None = None
        # Origin: the publisher's video keyframes are offered to the thumbnailer (set by the
        # hub), after the viewers are served; it decodes one now and then, in a thread.
        self.on_keyframe: Callable[[bytes], None] | None = None
        # Edge: asks the origin for a keyframe; False when there is no origin to ask.
        self.upstream_keyframe: Callable[[], bool] | None = None
        # Which publisher the frames come from: changes with each publisher (and link).
        self.generation = 0
        self._link_source: object | None = None
        self._link_generation = -1
        self.viewers: dict[str, MediaSession] = {}
        # Each frame is packetized once for every viewer (one VP8 picture id sequence),
        # by the packetizer of its codec.
        self._packetizers: dict[str, Callable[[bytes], list[bytes]]] = {}
        self._pli = Throttle(PLI_INTERVAL_S)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def empty(self) -> bool:
        return self.publisher is None and not self.viewers

    def set_publisher(self, session: MediaSession, codec: str) -> MediaSession | None:
        """Make `session`, sending video in `codec`, the publisher; return the one it
        replaces."""
        previous, self.publisher = self.publisher, session
        self.codec = codec
        self.generation = (self.generation + 1) & 0xFFFF
        self._link_source = None
        self._all_wait_for_keyframe()
        return previous

    def _all_wait_for_keyframe(self) -> None:
        for viewer in self.viewers.values():
            sender = viewer.senders.get("video")
            if sender is not None:
                sender.wait_for_keyframe()

    def upstream_changed(self) -> None:
        """Edge: the room's origin changed or went away; viewers wait for a keyframe."""
        self._link_source = None
        self._all_wait_for_keyframe()

    def tap(self, session: MediaSession, codec: str) -> None:
        """Route the publisher's received frames (video in `codec`) into the relay instead
        of decoders."""
        for kind, receiver in session.receivers.items():

            def sink(frame: EncodedFrame, ssrc: int, kind: str = kind) -> None:
                session.ssrcs[kind] = ssrc
                if session is self.publisher:
                    self.forward(session, kind, frame)

            aiortc_private.tap_encoded_frames(receiver, kind, sink, codec)

    def forward(self, source: MediaSession, kind: str, frame: EncodedFrame) -> None:
        """Send one frame to every viewer that can take it, now (no per-viewer queue)."""
        FRAMES[kind].inc()
        codec = self.codec if kind == "video" else "opus"
        keyframe = kind != "video" or is_keyframe(codec, frame.data)
        clock = self.clock
        position = frame.timestamp
        if clock is not None:
            position = clock.place(kind, source, frame.timestamp, time.monotonic() * 1000)
        timestamp = position & 0xFFFFFFFF
        if self.on_frame is not None:
            # Edges first: their viewers should not also wait for this process's fan-out.
            self.on_frame(kind, keyframe, self.generation, timestamp, frame.data, codec)
        self._fan_out(kind, keyframe, timestamp, frame.data, codec)
        if self.recorder is not None:
            self.recorder.write(kind, position, keyframe, frame.data)
        if keyframe and kind == "video" and self.on_keyframe is not None:
            self.on_keyframe(frame.data)

    def forward_link(self, frame: LinkFrame, gap: bool) -> None:
        """Edge: one frame from the origin worker, served like a publisher's frame."""
        if self.publisher is not None:
            return  # this process publishes the room itself now
        kind = frame.kind
        if self._link_source is None or frame.source != self._link_generation:
            # A new publisher at the origin (or a new origin): wait for its keyframe.
            self._link_source = object()
            self._link_generation = frame.source
            self._all_wait_for_keyframe()
        elif gap and kind == "video":
            # A frame was lost on the link: later ones cannot be decoded without it.
            self._all_wait_for_keyframe()
            self.request_keyframe()
        # The origin's timestamps are already positions on the room's media clock, the
        # same at every origin the room has had: passed on as they are.
        codec = "opus"
        if kind == "video":
            codec = self.codec = frame.codec
        self._fan_out(kind, kind != "video" or frame.keyframe, frame.timestamp, frame.data, codec)

    def _packetizer(self, codec: str) -> Callable[[bytes], list[bytes]]:
        packetize = self._packetizers.get(codec)
        if packetize is None:
            packetize = self._packetizers[codec] = aiortc_private.packetizer(codec)
        return packetize

    def _fan_out(self, kind: str, keyframe: bool, timestamp: int, data: bytes, codec: str) -> None:
        payloads: list[bytes] | None = None
        ntp, ast = 0, b""
        for viewer in self.viewers.values():
            sender = viewer.senders.get(kind)
            if sender is None or not sender.ready or not sender.takes(codec):
                continue
            if sender.waiting_since is not None:
                if not keyframe:
                    continue
                sender.waiting_since = None
            if payloads is None:
                payloads = self._packetizer(codec)(data)
                # Once per frame, not per packet: the send time differs by microseconds.
                ntp = ntp_now()
                ast = abs_send_time(ntp)
            if not sender.send_frame(payloads, timestamp, ntp, ast, codec) and kind == "video":
                sender.wait_for_keyframe()

    def add_viewer(self, session: MediaSession, kinds: set[str]) -> None:
        for kind in kinds:
            session.senders[kind] = ViewerSender(kind, on_start=self.request_keyframe)
        self.viewers[session.session_id] = session

    def on_viewer_sender(self, sender: Any, viewer_sender: ViewerSender) -> None:
        """Packets go out through `viewer_sender` once aiortc's sender has started; the
        viewer's PLI/FIR becomes one throttled keyframe request to the publisher."""
        aiortc_private.on_sender_start(sender, viewer_sender.start)
        aiortc_private.on_keyframe_request(sender, self.request_keyframe)

    def request_keyframe(self) -> None:
        if self._pli.request(time.monotonic()):
            self._send_pli()

    def _send_pli(self) -> None:
        publisher = self.publisher
        if publisher is None:
            if self.upstream_keyframe is not None:
                self.upstream_keyframe()
            return
        if publisher.closed:
            return
        receiver = publisher.receivers.get("video")
        ssrc = publisher.ssrcs.get("video")
        if receiver is None or ssrc is None:
            # Nothing received yet: the publisher's first frame is a keyframe anyway.
            return
        task = asyncio.ensure_future(aiortc_private.send_pli(receiver, ssrc))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def tick(self, now: float) -> None:
        """Periodic work: a pending throttled PLI, viewers still waiting for a keyframe."""
        if self._pli.due(now):
            self._send_pli()
        for viewer in self.viewers.values():
            sender = viewer.senders.get("video")
            if sender is None or not sender.ready or sender.waiting_since is None:
                continue
            if now - sender.waiting_since >= KEYFRAME_RETRY_S:
                sender.waiting_since = now
                self.request_keyframe()
