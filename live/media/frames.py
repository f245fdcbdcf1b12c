"""PURE: encoded frames from RTP packets, keyframe tests, timestamp rebasing, throttling.

No aiortc objects here beyond duck-typed packets (`sequence_number`, `timestamp`,
`marker`, `payload`); a packet's depayloaded bytes come from the `data_of` it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
# Packets kept while a frame is incomplete; older ones are dropped.
WINDOW = 512
# Complete frames held back waiting for a missing earlier one (about 0.3 s at 30 fps).
MAX_PENDING = 10


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


class FrameAssembler:
    """Completes video frames on the RTP marker bit (no wait for the next frame).

    Packets may arrive out of order (retransmissions). Frames come out in sequence order:
    a frame that follows a gap waits for the gap to fill (a retransmission), for at most
    `max_pending` frames; then the missing frame is given up and the rest go out.
    """

    def __init__(
        self,
        data_of: Callable[[Any], bytes],
        max_pending: int = MAX_PENDING,
        starts_frame: Callable[[Any], bool] | None = None,
    ) -> None:
        self._packets: dict[int, Any] = {}
        # A packet's share of the frame: its payload without the codec's RTP descriptor.
        self._data_of = data_of
        # Tells from a packet's RTP payload whether it opens a frame, where the codec can.
        self._starts_frame = starts_frame
        self._newest: int | None = None
        self._first_seq: int | None = None
        self._last_end: int | None = None
        # Complete frames waiting for an earlier one, by their first sequence number.
        self._pending: dict[int, tuple[int, EncodedFrame]] = {}
        self._max_pending = max_pending

    def add(self, packet: Any) -> list[EncodedFrame]:
        """Store one packet; return the frames it completes, in order."""
        seq = packet.sequence_number
        if self._newest is None:
            self._newest = self._first_seq = seq
        elif self._last_end is not None and seq_diff(seq, self._last_end) <= 0:
            return []  # a late copy of something already sent or given up
        elif seq_diff(seq, self._newest) > 0:
            self._newest = seq
            self._evict()
        self._packets[seq] = packet
        while packet is not None:
            span = self._span(packet)
            if span is None:
                break
            start, end = span
            parts = []
            at = start
            while True:
                parts.append(self._data_of(self._packets.pop(at)))
                if at == end:
                    break
                at = (at + 1) % SEQ_MOD
            self._pending[start] = (end, EncodedFrame(b"".join(parts), packet.timestamp))
            # The frame after this one may have been waiting to know where it starts.
            packet = self._packets.get((end + 1) % SEQ_MOD)
        return self._release()

    def _release(self) -> list[EncodedFrame]:
        out = []
        if self._last_end is None and self._pending:
            # Nothing sent yet: start from the oldest complete frame.
            assert self._newest is not None
            newest = self._newest
            first = min(self._pending, key=lambda start: seq_diff(start, newest))
            self._last_end = (first - 1) % SEQ_MOD
        if len(self._pending) > self._max_pending:
            # Give up on the gap: jump to the oldest waiting frame.
            assert self._first_seq is not None
            last = self._last_end if self._last_end is not None else self._first_seq - 1
            oldest = min(self._pending, key=lambda start: seq_diff(start, last))
            self._last_end = (oldest - 1) % SEQ_MOD
        while self._pending:
            following = (
                (self._last_end + 1) % SEQ_MOD if self._last_end is not None else self._first_seq
            )
            if following not in self._pending:
                break
            end, frame = self._pending.pop(following)
            self._last_end = end
            out.append(frame)
        return out

    def _evict(self) -> None:
        assert self._newest is not None
        newest = self._newest
        if len(self._packets) > WINDOW // 2:
            for seq in [s for s in self._packets if seq_diff(newest, s) >= WINDOW // 2]:
                del self._packets[seq]

    def _span(self, packet: Any) -> tuple[int, int] | None:
        """First and last sequence numbers of the packet's frame, if all of it is here."""
        ts = packet.timestamp
        end = packet.sequence_number
        while not self._packets[end].marker:
            end = (end + 1) % SEQ_MOD
            nxt = self._packets.get(end)
            if nxt is None or nxt.timestamp != ts:
                return None
        start = packet.sequence_number
        while True:
            before = (start - 1) % SEQ_MOD
            prev = self._packets.get(before)
            if prev is not None and prev.timestamp == ts:
                start = before
                continue
            if prev is None and not self._ends_at(before):
                # A gap: the missing packet may be this frame's first one.
                if self._starts_frame is not None:
                    return (start, end) if self._starts_frame(self._packets[start]) else None
                if start != self._first_seq:
                    return None
            return start, end

    def _ends_at(self, seq: int) -> bool:
        """True when a frame already assembled ends at `seq`."""
        return seq == self._last_end or any(end == seq for end, _ in self._pending.values())


def vp8_starts_frame(packet: Any) -> bool:
    """RFC 7741 payload descriptor: S bit set and partition index 0 opens a frame."""
    payload: bytes = packet.payload
    return bool(payload) and payload[0] & 0x10 != 0 and payload[0] & 0x07 == 0


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
