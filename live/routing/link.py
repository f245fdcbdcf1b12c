"""PURE: the messages of the relay link between a room's origin worker and its edges.

The origin (the worker holding the room's publisher) sends each encoded frame once to
every worker that subscribed to the room; those workers (edges) packetize and send it to
their own viewers. Edges subscribe with a lease they renew, and ask for keyframes. Every
message is one datagram (a frame larger than `MAX_PART` is cut into parts):

    header  version u8 | type u8 | key 16 bytes | room length u8 | room (ASCII)
    FRAME   kind u8 | flags u8 | source u16 | seq u32 | rtp timestamp u32 | sent_us u64
            | part u16 | parts u16 | payload      (flags: keyframe 1, H.264 video 2)
    SUBSCRIBE  lease_ms u32
    UNSUBSCRIBE, KEYFRAME, ENDED  (nothing more)

`key` is derived from the workers' shared secret: a datagram without it is dropped (any
local user can send to a loopback port). `source` changes when the origin's publisher
changes, `seq` counts the room's frames of one kind (a gap means a frame was lost on the
link), `sent_us` is the origin's wall clock when it sent the frame (the relay lag).
No sockets and no clock here: `live.routing.links` does the I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

VERSION = 1
KEY_BYTES = 16
# A datagram's payload stays under loopback UDP's limit (65,507 bytes) with room to spare.
MAX_PART = 60000

FRAME, SUBSCRIBE, UNSUBSCRIBE, KEYFRAME, ENDED = 1, 2, 3, 4, 5
KINDS = ("video", "audio")
KEYFRAME_FLAG = 1
# A video frame in H.264 (otherwise VP8; audio is Opus): a room's codec follows its publisher.
H264_FLAG = 2

_HEAD = struct.Struct("!BB16sB")
_FRAME = struct.Struct("!BBHIIQHH")
_LEASE = struct.Struct("!I")


class LinkError(ValueError):
    """A datagram that is not a relay link message (or not ours)."""


def link_key(secret: str) -> bytes:
    """The 16 bytes every message carries: the workers' secret, never sent itself."""
    return hmac.new(secret.encode(), b"live relay link v1", hashlib.sha256).digest()[:KEY_BYTES]


@dataclass(frozen=True)
class FramePart:
    """One datagram's share of an encoded frame (`parts` == 1 for most frames)."""

    room_id: str
    kind: str
    keyframe: bool
    source: int
    seq: int
    timestamp: int
    sent_us: int
    part: int
    parts: int
    payload: bytes
    codec: str = "vp8"


@dataclass(frozen=True)
class Control:
    """SUBSCRIBE (with its lease), UNSUBSCRIBE, KEYFRAME or ENDED for one room."""

    type: int
    room_id: str
    lease_ms: int = 0


Message = FramePart | Control


def _head(kind: int, key: bytes, room_id: str) -> bytes:
    room = room_id.encode("ascii")
    if len(room) > 255:
        raise LinkError("room id too long for the relay link")
    return _HEAD.pack(VERSION, kind, key, len(room)) + room


def encode_frame(
    key: bytes,
    room_id: str,
    kind: str,
    keyframe: bool,
    source: int,
    seq: int,
    timestamp: int,
    sent_us: int,
    payload: bytes,
    max_part: int = MAX_PART,
    codec: str = "vp8",
) -> list[bytes]:
    """The datagrams carrying one encoded frame, in order."""
    head = _head(FRAME, key, room_id)
    chunks = [payload[at : at + max_part] for at in range(0, len(payload), max_part)] or [b""]
    flags = (KEYFRAME_FLAG if keyframe else 0) | (H264_FLAG if codec == "h264" else 0)
    kind_id = KINDS.index(kind)
    return [
        head
        + _FRAME.pack(
            kind_id,
            flags,
            source & 0xFFFF,
            seq & 0xFFFFFFFF,
            timestamp & 0xFFFFFFFF,
            sent_us,
            i,
            len(chunks),
        )
        + chunk
        for i, chunk in enumerate(chunks)
    ]


def encode_control(key: bytes, kind: int, room_id: str, lease_ms: int = 0) -> bytes:
    if kind == SUBSCRIBE:
        return _head(kind, key, room_id) + _LEASE.pack(lease_ms)
    if kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        return _head(kind, key, room_id)
    raise LinkError(f"not a control message type: {kind}")


def decode(key: bytes, data: bytes) -> Message:
    """One datagram; `LinkError` when it is malformed or lacks the key."""
    if len(data) < _HEAD.size:
        raise LinkError("short datagram")
    version, kind, given, room_len = _HEAD.unpack_from(data)
    if version != VERSION:
        raise LinkError(f"relay link version {version}")
    if not hmac.compare_digest(given, key):
        raise LinkError("wrong link key")
    at = _HEAD.size + room_len
    if len(data) < at:
        raise LinkError("short room id")
    try:
        room_id = data[_HEAD.size : at].decode("ascii")
    except UnicodeDecodeError as exc:
        raise LinkError("room id is not ASCII") from exc
    if kind == FRAME:
        if len(data) < at + _FRAME.size:
            raise LinkError("short frame header")
        kind_id, flags, source, seq, ts, sent_us, part, parts = _FRAME.unpack_from(data, at)
        if kind_id >= len(KINDS) or not 0 <= part < parts:
            raise LinkError("bad frame header")
        return FramePart(
            room_id,
            KINDS[kind_id],
            bool(flags & KEYFRAME_FLAG),
            source,
            seq,
            ts,
            sent_us,
            part,
            parts,
            data[at + _FRAME.size :],
            "h264" if flags & H264_FLAG else "vp8",
        )
    if kind == SUBSCRIBE:
        if len(data) != at + _LEASE.size:
            raise LinkError("bad subscribe")
        return Control(SUBSCRIBE, room_id, _LEASE.unpack_from(data, at)[0])
    if kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        if len(data) != at:
            raise LinkError("trailing bytes")
        return Control(kind, room_id)
    raise LinkError(f"unknown message type {kind}")


@dataclass(frozen=True)
class LinkFrame:
    """A whole encoded frame as the origin sent it."""

    room_id: str
    kind: str
    keyframe: bool
    source: int
    seq: int
    timestamp: int
    sent_us: int
    data: bytes
    codec: str = "vp8"


class Reassembler:
    """Puts frames cut into parts back together; a part of an older frame is dropped once
    a newer frame of the same room and kind has begun (datagrams may be lost, not
    reordered much on one host)."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], tuple[int, list[bytes | None]]] = {}

    def add(self, part: FramePart) -> LinkFrame | None:
        if part.parts == 1:
            return _whole(part, part.payload)
        slot = (part.room_id, part.kind)
        current = self._open.get(slot)
        if current is None or current[0] != part.seq or len(current[1]) != part.parts:
            if current is not None and _seq_newer(current[0], part.seq):
                return None  # a late part of a frame already given up
            current = (part.seq, [None] * part.parts)
            self._open[slot] = current
        pieces = current[1]
        pieces[part.part] = part.payload
        if any(piece is None for piece in pieces):
            return None
        del self._open[slot]
        return _whole(part, b"".join(p for p in pieces if p is not None))

    def forget(self, room_id: str) -> None:
        for slot in [s for s in self._open if s[0] == room_id]:
            del self._open[slot]


def _whole(part: FramePart, data: bytes) -> LinkFrame:
    return LinkFrame(
        part.room_id,
        part.kind,
        part.keyframe,
        part.source,
        part.seq,
        part.timestamp,
        part.sent_us,
        data,
        part.codec,
    )


def _seq_newer(a: int, b: int) -> bool:
    """True when frame counter `a` comes after `b` (32-bit wraparound)."""
    return 0 < (a - b) % (1 << 32) < (1 << 31)


def is_gap(previous: int | None, seq: int) -> bool:
    """True when `seq` does not directly follow `previous` (a frame was lost)."""
    return previous is not None and (previous + 1) & 0xFFFFFFFF != seq


class Subscribers:
    """The origin's side: which edges want which room, until their lease runs out."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[object, float]] = {}

    def renew(self, room_id: str, edge: object, lease_s: float, now: float) -> bool:
        """Subscribe or renew; True when `edge` is new for the room."""
        edges = self._rooms.setdefault(room_id, {})
        new = edge not in edges
        edges[edge] = now + lease_s
        return new

    def drop(self, room_id: str, edge: object) -> None:
        edges = self._rooms.get(room_id)
        if edges is not None:
            edges.pop(edge, None)
            if not edges:
                del self._rooms[room_id]

    def of(self, room_id: str) -> list[object]:
        """The room's edges (expired ones are removed by `expire`)."""
        edges = self._rooms.get(room_id)
        return list(edges) if edges else []

    def expire(self, now: float) -> int:
        """Forget lapsed leases; the number forgotten."""
        gone = 0
        for room_id in list(self._rooms):
            edges = self._rooms[room_id]
            for edge in [e for e, until in edges.items() if until <= now]:
                del edges[edge]
                gone += 1
            if not edges:
                del self._rooms[room_id]
        return gone

    def count(self) -> int:
        return sum(len(edges) for edges in self._rooms.values())

    def rooms(self) -> list[str]:
        return list(self._rooms)
