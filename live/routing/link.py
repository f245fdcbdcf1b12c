"""PURE: the messages of the relay link between a room's origin and the processes it feeds.

The origin (the worker holding the room's publisher) sends each encoded frame once to
every process that subscribed to the room: the other workers of its node, and one worker
of each node it feeds (that node's *relay*, which sends the frames on to its own node's
workers and to the nodes it feeds in turn, live.routing.tree). Subscribers renew their
subscription (a lease) and ask for keyframes. Every message is one datagram, sealed with
the nodes' secret (live.routing.sealed: encrypted and authenticated, each taken once); a
frame larger than the subscriber's `max_part` is cut into parts. Inside the seal:

    header     version u8 | type u8 | room length u8 | room (ASCII)
    FRAME      kind u8 | flags u8 | source u16 | seq u32 | rtp timestamp u32 | sent_us u64
               | part u16 | parts u16 | payload      (flags: keyframe 1, H.264 video 2)
    SUBSCRIBE  lease_ms u32 | max_part u16 | flags u8 | sent_ms u64 | address length u8
               | address ("host:port", where the subscriber reads)
    UNSUBSCRIBE, KEYFRAME, ENDED  (nothing more)

`source` changes when the origin's publisher changes, `seq` counts the room's frames of
one kind at the origin (relays pass both on untouched, so a frame lost anywhere up the
tree is a gap below), `sent_us` is the origin's wall clock when it sent the frame (the
relay lag). A SUBSCRIBE names the address it was sent from and its time: one replayed
from elsewhere, or later, subscribes nobody. No sockets and no clock here:
`live.routing.links` does the I/O.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from live.routing.sealed import LinkSealer, SealError

VERSION = 2
# Loopback UDP takes datagrams up to 65,507 bytes: a worker of the same machine gets whole
# frames; between machines parts stay under a usual MTU (no IP fragmentation).
MAX_PART = 60000
NETWORK_PART = 1200

FRAME, SUBSCRIBE, UNSUBSCRIBE, KEYFRAME, ENDED = 1, 2, 3, 4, 5
KINDS = ("video", "audio")
KEYFRAME_FLAG = 1
# A video frame in H.264 (otherwise VP8; audio is Opus): a room's codec follows its publisher.
H264_FLAG = 2
REMOTE_FLAG = 1  # SUBSCRIBE: the subscriber is another node's relay
# A SUBSCRIBE older (or newer) than this, by the subscriber's clock, is refused.
SUBSCRIBE_FRESH_MS = 10_000

_HEAD = struct.Struct("!BBB")
_FRAME = struct.Struct("!BBHIIQHH")
_SUBSCRIBE = struct.Struct("!IHBQB")


class LinkError(ValueError):
    """A datagram that is not a relay link message (or not ours)."""


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
    """SUBSCRIBE (with its lease and terms), UNSUBSCRIBE, KEYFRAME or ENDED for one room."""

    type: int
    room_id: str
    lease_ms: int = 0
    max_part: int = MAX_PART
    remote: bool = False
    sent_ms: int = 0
    address: str = ""


Message = FramePart | Control


def _head(kind: int, room_id: str) -> bytes:
    room = room_id.encode("ascii")
    if len(room) > 255:
        raise LinkError("room id too long for the relay link")
    return _HEAD.pack(VERSION, kind, len(room)) + room


def encode_frame(
    sealer: LinkSealer,
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
    """The sealed datagrams carrying one encoded frame, in order."""
    head = _head(FRAME, room_id)
    chunks = [payload[at : at + max_part] for at in range(0, len(payload), max_part)] or [b""]
    flags = (KEYFRAME_FLAG if keyframe else 0) | (H264_FLAG if codec == "h264" else 0)
    kind_id = KINDS.index(kind)
    return [
        sealer.seal(
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
        )
        for i, chunk in enumerate(chunks)
    ]


def encode_subscribe(
    sealer: LinkSealer,
    room_id: str,
    lease_ms: int,
    address: str,
    sent_ms: int,
    max_part: int = MAX_PART,
    remote: bool = False,
) -> bytes:
    where = address.encode("ascii")
    if len(where) > 255:
        raise LinkError("address too long for the relay link")
    flags = REMOTE_FLAG if remote else 0
    terms = _SUBSCRIBE.pack(lease_ms, max_part, flags, sent_ms, len(where))
    return sealer.seal(_head(SUBSCRIBE, room_id) + terms + where)


def encode_control(sealer: LinkSealer, kind: int, room_id: str) -> bytes:
    if kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        return sealer.seal(_head(kind, room_id))
    raise LinkError(f"not a control message type: {kind}")


def decode(sealer: LinkSealer, data: bytes) -> Message:
    """One datagram; `LinkError` when it is malformed, not sealed by us, or a replay."""
    try:
        data = sealer.open(data)
    except SealError as exc:
        raise LinkError(str(exc)) from exc
    if len(data) < _HEAD.size:
        raise LinkError("short datagram")
    version, kind, room_len = _HEAD.unpack_from(data)
    if version != VERSION:
        raise LinkError(f"relay link version {version}")
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
        return _subscribe(room_id, data, at)
    if kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        if len(data) != at:
            raise LinkError("trailing bytes")
        return Control(kind, room_id)
    raise LinkError(f"unknown message type {kind}")


def _subscribe(room_id: str, data: bytes, at: int) -> Control:
    if len(data) < at + _SUBSCRIBE.size:
        raise LinkError("bad subscribe")
    lease_ms, max_part, flags, sent_ms, where_len = _SUBSCRIBE.unpack_from(data, at)
    where = data[at + _SUBSCRIBE.size :]
    if len(where) != where_len or not 0 < max_part <= MAX_PART:
        raise LinkError("bad subscribe")
    try:
        address = where.decode("ascii")
    except UnicodeDecodeError as exc:
        raise LinkError("bad subscribe address") from exc
    remote = bool(flags & REMOTE_FLAG)
    return Control(SUBSCRIBE, room_id, lease_ms, max_part, remote, sent_ms, address)


def subscribe_accepted(message: Control, sender: tuple[str, int], now_ms: int) -> bool:
    """A SUBSCRIBE counts only from the address it names and while it is recent."""
    fresh = abs(now_ms - message.sent_ms) <= SUBSCRIBE_FRESH_MS
    return fresh and message.address == format_address(sender)


def format_address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"


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


@dataclass
class Subscription:
    """One subscriber of a room: until when, and the terms it asked for."""

    until: float
    max_part: int = MAX_PART
    remote: bool = False


class Subscribers:
    """The sending side: which processes want which room, until their lease runs out."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[object, Subscription]] = {}

    def renew(
        self,
        room_id: str,
        edge: object,
        lease_s: float,
        now: float,
        max_part: int = MAX_PART,
        remote: bool = False,
    ) -> bool:
        """Subscribe or renew; True when `edge` is new for the room."""
        edges = self._rooms.setdefault(room_id, {})
        new = edge not in edges
        edges[edge] = Subscription(now + lease_s, max_part, remote)
        return new

    def drop(self, room_id: str, edge: object) -> None:
        edges = self._rooms.get(room_id)
        if edges is not None:
            edges.pop(edge, None)
            if not edges:
                del self._rooms[room_id]

    def of(self, room_id: str) -> list[object]:
        """The room's subscribers (expired ones are removed by `expire`)."""
        edges = self._rooms.get(room_id)
        return list(edges) if edges else []

    def terms(self, room_id: str) -> list[tuple[object, Subscription]]:
        edges = self._rooms.get(room_id)
        return list(edges.items()) if edges else []

    def expire(self, now: float) -> int:
        """Forget lapsed leases; the number forgotten."""
        gone = 0
        for room_id in list(self._rooms):
            edges = self._rooms[room_id]
            for edge in [e for e, sub in edges.items() if sub.until <= now]:
                del edges[edge]
                gone += 1
            if not edges:
                del self._rooms[room_id]
        return gone

    def count(self, remote: bool | None = None) -> int:
        """Subscriptions over all rooms; only other nodes' (True) or this node's (False)."""
        return sum(
            1
            for edges in self._rooms.values()
            for sub in edges.values()
            if remote is None or sub.remote == remote
        )

    def rooms(self) -> list[str]:
        return list(self._rooms)
