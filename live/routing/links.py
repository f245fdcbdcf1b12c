"""Relay links between the workers of a node: one loopback UDP socket per process.

As a room's *origin* (the worker holding its publisher, the owner lease), this process
sends each encoded frame once to every worker that subscribed to the room. As an *edge*
(a worker with viewers of a room it does not hold), it finds the room's origin in Redis
(the owner lease), subscribes with a lease it renews every `RENEW_S`, forwards its viewers'
keyframe requests, and hands the frames to its media (`LinkSink`). A subscription that is
not renewed lapses after `LEASE_S`, so a dead edge costs the origin nothing for long; an
edge re-resolves the origin every `RENEW_S`, so a new origin (the host republished on
another worker) is found by itself. Messages: `live.routing.link`. Nothing here is
re-encoded and nothing goes through Redis but the origin's address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Protocol

from live import metrics
from live.routing.link import (
    ENDED,
    KEYFRAME,
    SUBSCRIBE,
    UNSUBSCRIBE,
    Control,
    LinkError,
    LinkFrame,
    Reassembler,
    Subscribers,
    decode,
    encode_control,
    encode_frame,
    is_gap,
    link_key,
)
from live.routing.owners import MediaOwners
from live.routing.workers import WorkerAddress
from live.tasks import stop_task

log = logging.getLogger("live.routing")

# Under uvicorn's worker health check (a worker silent for 5 s is killed): a frozen edge
# drops out of the origin's links while it can still come back and subscribe again.
LEASE_S = 3.0
RENEW_S = 1.0
BUFFER_BYTES = 4 << 20
MAX_DATAGRAM = 65536
# Datagrams read per wake-up before the loop serves others.
READ_BATCH = 64

Address = tuple[str, int]
SENT = metrics.MEDIA_RELAY_FRAMES.labels("sent")
RECEIVED = metrics.MEDIA_RELAY_FRAMES.labels("received")
LAG = metrics.MEDIA_RELAY_LAG


class LinkSink(Protocol):
    """This process's media, as the links call it (live.media.hub.MediaHub)."""

    def link_frame(self, frame: LinkFrame, gap: bool) -> None:
        """An edge's frame from the room's origin; `gap`: a frame before it was lost."""

    def link_keyframe_request(self, room_id: str) -> None:
        """At the origin: an edge's viewer asked for a keyframe."""

    def link_origin_changed(self, room_id: str, origin: WorkerAddress | None) -> None:
        """At an edge: the room's origin is another worker now, or none (`None`)."""

    def link_room_ended(self, room_id: str) -> None:
        """At an edge: the origin says the room ended."""


class _Watch:
    """An edge's subscription to one room."""

    __slots__ = ("last_seq", "origin", "owner")

    def __init__(self) -> None:
        self.owner: str | None = None  # the lease's value last read
        self.origin: Address | None = None  # where frames come from (None: none, or us)
        self.last_seq: dict[str, int] = {}


class RelayLinks:
    def __init__(
        self, owners: MediaOwners, secret: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._owners = owners
        self._key = link_key(secret)
        self._now = clock
        self._sock: socket.socket | None = None
        self._sink: LinkSink | None = None
        self.address: Address | None = None
        self._subscribers = Subscribers()
        self._seq: dict[tuple[str, str], int] = {}
        self._watched: dict[str, _Watch] = {}
        self._reassembler = Reassembler()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ------------------------------------------------------------
    def start(self, sink: LinkSink, host: str = "127.0.0.1") -> Address:
        """Bind this process's link socket; the address siblings reach it at."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, BUFFER_BYTES)
        sock.bind((host, 0))
        sock.setblocking(False)
        self._sock, self._sink = sock, sink
        self.address = sock.getsockname()[:2]
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        self._task = asyncio.create_task(self._renew_forever())
        return self.address

    async def aclose(self) -> None:
        await stop_task(self._task)
        for room_id in list(self._watched):
            self.unwatch(room_id)
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None

    # --- origin side ------------------------------------------------------------
    def send_frame(
        self,
        room_id: str,
        kind: str,
        keyframe: bool,
        source: int,
        timestamp: int,
        data: bytes,
        codec: str = "vp8",
    ) -> None:
        """One frame of a room this process originates, to each subscribed edge once."""
        edges = self._subscribers.of(room_id)
        if not edges:
            return
        slot = (room_id, kind)
        seq = self._seq[slot] = (self._seq.get(slot, -1) + 1) & 0xFFFFFFFF
        sent_us = time.time_ns() // 1000
        datagrams = encode_frame(
            self._key, room_id, kind, keyframe, source, seq, timestamp, sent_us, data, codec=codec
        )
        for edge in edges:
            for datagram in datagrams:
                self._send(datagram, edge)  # type: ignore[arg-type]
            SENT.inc()

    def send_ended(self, room_id: str) -> None:
        """The room ended: its edges close their viewers' sessions."""
        datagram = encode_control(self._key, ENDED, room_id)
        for edge in self._subscribers.of(room_id):
            self._send(datagram, edge)  # type: ignore[arg-type]
            self._subscribers.drop(room_id, edge)

    def edges(self, room_id: str) -> int:
        return len(self._subscribers.of(room_id))

    # --- edge side ----------------------------------------------------------------
    async def watch(self, room_id: str) -> str | None:
        """Pull the room from its origin (now, and until `unwatch`); the owner lease's
        value (None: no process holds the room)."""
        watch = self._watched.get(room_id)
        if watch is None:
            watch = self._watched[room_id] = _Watch()
            await self._resolve(room_id)
        return watch.owner

    def unwatch(self, room_id: str) -> None:
        watch = self._watched.pop(room_id, None)
        self._reassembler.forget(room_id)
        if watch is not None and watch.origin is not None:
            self._send(encode_control(self._key, UNSUBSCRIBE, room_id), watch.origin)

    def watching(self, room_id: str) -> bool:
        watch = self._watched.get(room_id)
        return watch is not None and watch.origin is not None

    def request_keyframe(self, room_id: str) -> bool:
        """Ask the room's origin for a keyframe; False when there is none to ask."""
        watch = self._watched.get(room_id)
        if watch is None or watch.origin is None:
            return False
        self._send(encode_control(self._key, KEYFRAME, room_id), watch.origin)
        return True

    async def _resolve(self, room_id: str) -> None:
        owner = await self._owners.owner(room_id)
        watch = self._watched.get(room_id)
        if watch is None:
            return  # unwatched meanwhile
        origin = WorkerAddress.parse(owner) if owner else None
        relay = origin.relay if origin is not None else None
        ours = relay is not None and relay == self.address
        if ours:
            relay = None  # this process holds the room: nothing to pull
        if relay != watch.origin:
            if watch.origin is not None:
                self._send(encode_control(self._key, UNSUBSCRIBE, room_id), watch.origin)
            watch.origin = relay
            watch.last_seq.clear()
            self._reassembler.forget(room_id)
            if self._sink is not None and not ours:
                self._sink.link_origin_changed(room_id, origin)
        watch.owner = owner
        if relay is not None:
            lease_ms = int(LEASE_S * 1000)
            self._send(encode_control(self._key, SUBSCRIBE, room_id, lease_ms), relay)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_S)
            gone = self._subscribers.expire(self._now())
            if gone:
                log.info("relay subscriptions lapsed", extra={"count": gone})
            for room_id in list(self._watched):
                try:
                    await self._resolve(room_id)
                except Exception:
                    log.exception("could not resolve the room's origin", extra={"room_id": room_id})
            metrics.MEDIA_RELAY_LINKS.labels("origin").set(self._subscribers.count())
            pulled = sum(1 for w in self._watched.values() if w.origin is not None)
            metrics.MEDIA_RELAY_LINKS.labels("edge").set(pulled)

    # --- the socket -------------------------------------------------------------------
    def _send(self, datagram: bytes, to: Address) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(datagram, to)
        except BlockingIOError:
            metrics.MEDIA_RELAY_DROPPED.labels("send_full").inc()
        except OSError:
            # The other worker is gone (its lease lapses) or the buffer refused: a datagram
            # link loses this one; the receiver notices the gap.
            metrics.MEDIA_RELAY_DROPPED.labels("send_error").inc()

    def _readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(READ_BATCH):
            try:
                data, sender = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # an ICMP error reported on the socket: nothing to read
            try:
                self._received(data, sender[:2])
            except LinkError:
                metrics.MEDIA_RELAY_DROPPED.labels("refused").inc()
            except Exception:
                log.exception("relay link message failed")

    def _received(self, data: bytes, sender: Address) -> None:
        message = decode(self._key, data)
        sink = self._sink
        assert sink is not None
        if isinstance(message, Control):
            room_id = message.room_id
            if message.type == SUBSCRIBE:
                lease_s = min(message.lease_ms / 1000, 4 * LEASE_S)
                if self._subscribers.renew(room_id, sender, lease_s, self._now()):
                    log.info("relay edge subscribed", extra={"room_id": room_id})
                    # A new edge's viewers wait for a keyframe: ask the publisher now.
                    sink.link_keyframe_request(room_id)
            elif message.type == UNSUBSCRIBE:
                self._subscribers.drop(room_id, sender)
            elif message.type == KEYFRAME:
                sink.link_keyframe_request(room_id)
            elif message.type == ENDED and self._from_origin(room_id, sender):
                sink.link_room_ended(room_id)
            return
        if not self._from_origin(message.room_id, sender):
            return
        frame = self._reassembler.add(message)
        if frame is None:
            return
        RECEIVED.inc()
        LAG.observe(max(0, time.time_ns() // 1000 - frame.sent_us) / 1e6)
        watch = self._watched[frame.room_id]
        gap = is_gap(watch.last_seq.get(frame.kind), frame.seq)
        if gap:
            metrics.MEDIA_RELAY_DROPPED.labels("gap").inc()
        watch.last_seq[frame.kind] = frame.seq
        sink.link_frame(frame, gap)

    def _from_origin(self, room_id: str, sender: Address) -> bool:
        watch = self._watched.get(room_id)
        return watch is not None and watch.origin == sender
