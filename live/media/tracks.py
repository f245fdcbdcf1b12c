"""Sending tracks whose `recv()` hands pre-encoded `av.Packet`s to aiortc's sender.

The sender packetizes them with the codec's `pack()` and does not encode. One packet
object is shared by every viewer (`pack()` only reads it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_TIME_BASE = Fraction(1, 48000)
# Frames queued for one viewer before it is considered behind (about 2 s of video).
QUEUE_FRAMES = 64


def make_packet(data: bytes, pts: int, kind: str) -> Any:
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE
    return packet


class ForwardTrack(MediaStreamTrack):
    """One viewer's outgoing audio or video: frames pushed by the relay, in order.

    Video waits for a keyframe before the first frame (and after falling behind), so a
    decoder never starts on a frame it cannot decode.
    """

    def __init__(self, kind: str, on_start: Callable[[], None], on_behind: Callable[[], None]):
        super().__init__()
        self.kind = kind
        self._queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_FRAMES)
        self._on_start: Callable[[], None] | None = on_start
        self._on_behind = on_behind
        self.waiting_since: float | None = time.monotonic() if kind == "video" else None
        self.frames_sent = 0

    @property
    def needs_keyframe(self) -> bool:
        return self.waiting_since is not None

    def wait_for_keyframe(self) -> None:
        if self.kind == "video" and self.waiting_since is None:
            self.waiting_since = time.monotonic()

    def push(self, packet: Any, keyframe: bool) -> None:
        """Queue a frame for this viewer (dropped until a keyframe when one is needed)."""
        if self.readyState != "live":
            return
        if self.waiting_since is not None:
            if not keyframe:
                return
            self.waiting_since = None
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            # The viewer fell behind: drop what is queued and restart from a keyframe.
            while not self._queue.empty():
                self._queue.get_nowait()
            self.waiting_since = None
            self.wait_for_keyframe()
            self._on_behind()

    async def recv(self) -> Any:
        if self._on_start is not None:
            # The sender has started pulling: ask the publisher for a keyframe now.
            start, self._on_start = self._on_start, None
            start()
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        self.frames_sent += 1
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)
