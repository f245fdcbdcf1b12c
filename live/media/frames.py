"""PURE: encoded frames from RTP packets, keyframe tests, timestamp rebasing, throttling.

No aiortc objects here beyond duck-typed packets (`sequence_number`, `timestamp`,
`marker`, and the depayloaded `_data` aiortc stores on each packet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
# Packets kept while a frame is incomplete; older ones are dropped.
WINDOW = 512


class Packet(Protocol):
    sequence_number: int
    timestamp: int
    marker: int


@dataclass(frozen=True)
class EncodedFrame:
    """One complete encoded frame: its bytes and its RTP timestamp."""

    data: bytes
    timestamp: int


def seq_diff(a: int, b: int) -> int:
    """a - b in 16-bit sequence space, in [-32768, 32767]."""
    return (a - b + 0x8000) % SEQ_MOD - 0x8000


def ts_newer(a: int, b: int) -> bool:
    """True when RTP timestamp `a` comes after `b` (32-bit wraparound)."""
    return 0 < (a - b) % TS_MOD < 0x80000000


class FrameAssembler:
    """Completes video frames on the RTP marker bit (no wait for the next frame).

    Packets may arrive out of order (retransmissions); a frame is complete when its
    packets from the one after the previous frame's last packet to the marker are here.
    Frames older than the last one completed are dropped so output stays in order.
    """

    def __init__(self) -> None:
        self._packets: dict[int, Any] = {}
        self._newest: int | None = None
        self._last_ts: int | None = None
        self._last_end: int | None = None
        self._first_seq: int | None = None

    def add(self, packet: Any) -> EncodedFrame | None:
        seq = packet.sequence_number
        if self._newest is not None:
            ahead = seq_diff(seq, self._newest)
            if ahead <= -WINDOW:
                return None
            if ahead > 0:
                self._newest = seq
                self._evict()
        else:
            self._newest = self._first_seq = seq
        self._packets[seq] = packet
        return self._complete(packet)

    def _evict(self) -> None:
        assert self._newest is not None
        newest = self._newest
        if len(self._packets) > WINDOW // 2:
            for seq in [s for s in self._packets if seq_diff(newest, s) >= WINDOW // 2]:
                del self._packets[seq]

    def _complete(self, packet: Any) -> EncodedFrame | None:
        ts = packet.timestamp
        # Walk forward to the marker.
        end = packet.sequence_number
        while not self._packets[end].marker:
            end = (end + 1) % SEQ_MOD
            nxt = self._packets.get(end)
            if nxt is None or nxt.timestamp != ts:
                return None
        # Walk back to the packet after the previous frame.
        start = packet.sequence_number
        while True:
            before = (start - 1) % SEQ_MOD
            prev = self._packets.get(before)
            if prev is None:
                # A gap: the start is known only right after the last frame (or at first).
                if self._last_end is None:
                    if start != self._first_seq:
                        return None
                elif before != self._last_end:
                    return None
                break
            if prev.timestamp != ts:
                break
            start = (start - 1) % SEQ_MOD
        if self._last_ts is not None and not ts_newer(ts, self._last_ts):
            return None
        parts = []
        seq = start
        while True:
            parts.append(self._packets.pop(seq)._data)
            if seq == end:
                break
            seq = (seq + 1) % SEQ_MOD
        self._last_ts = ts
        self._last_end = end
        return EncodedFrame(b"".join(parts), ts)


def is_keyframe(codec: str, data: bytes) -> bool:
    """True when an encoded frame can be decoded on its own."""
    if not data:
        return False
    if codec == "vp8":
        # RFC 6386 frame tag: the lowest bit of the first byte is 0 for a key frame.
        return data[0] & 1 == 0
    if codec == "h264":
        return any(nal_type in (5, 7) for nal_type in h264_nal_types(data))
    return True


def h264_nal_types(data: bytes) -> list[int]:
    """NAL unit types of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01)."""
    types = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1 and pos + 3 < len(data):
        types.append(data[pos + 3] & 0x1F)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return types


class Timeline:
    """Keeps one continuous RTP timeline for viewers across publisher changes."""

    def __init__(self, step: int) -> None:
        self._step = step
        self._offset = 0
        self._last_out: int | None = None
        self._source: object | None = None

    def map(self, source: object, timestamp: int) -> int:
        if source is not self._source:
            self._source = source
            if self._last_out is not None:
                self._offset = (self._last_out + self._step - timestamp) % TS_MOD
            else:
                self._offset = 0
        out = (timestamp + self._offset) % TS_MOD
        self._last_out = out
        return out


class Throttle:
    """At most one action per `interval_s`; a request inside the interval stays pending."""

    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._last = float("-inf")
        self.pending = False

    def request(self, now: float) -> bool:
        """True when the action should run now; otherwise it is remembered as pending."""
        if now - self._last >= self._interval:
            self._last = now
            self.pending = False
            return True
        self.pending = True
        return False

    def due(self, now: float) -> bool:
        """True when a pending request may now run."""
        return self.pending and self.request(now)
