"""The track each viewer's aiortc sender holds: it never yields a frame.

Packets go out through `live.media.sender` instead; the sender's own RTP loop stays parked
in `recv()` until the session ends (its RTCP loop still sends reports and reads NACKs).
`make_packet` builds the pre-encoded `av.Packet`s that publishers in tests and benchmarks
hand to aiortc.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

VIDEO_TIME_BASE = Fraction(1, 90000)
AUDIO_TIME_BASE = Fraction(1, 48000)


def make_packet(data: bytes, pts: int, kind: str) -> Any:
    packet = av.Packet(data)
    packet.pts = pts
    packet.time_base = VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE
    return packet


class ParkedTrack(MediaStreamTrack):
    """Holds its sender's RTP loop until stopped."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped = asyncio.Event()

    async def recv(self) -> Any:
        await self._stopped.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._stopped.set()
