"""Relay links between workers and between nodes: one UDP socket per process.

As a room's *origin* (the worker holding its publisher, the owner lease), this process
sends each encoded frame once to every process that subscribed to the room. As a
*puller* (a worker with viewers of a room it does not hold) it asks the relay tree
(live.routing.tree) where to pull the room from: the origin or its node's relay on the
same node, or, when it is its node's relay, a worker of another node. It subscribes there
with a lease it renews every `RENEW_S`, forwards its viewers' keyframe requests, and
hands the frames to its media (`LinkSink`); a relay also sends them on, untouched, to its
own subscribers (its node's other workers and the nodes it feeds), and keeps pulling
while it has any, viewers of its own or not. A subscription that is not renewed lapses
after `LEASE_S`, so a dead subscriber costs nothing for long; the route is asked again
every `RENEW_S`, so a new origin or a new parent is found by itself.

Every datagram is sealed with the nodes' secret (live.routing.sealed); messages:
live.routing.link. Nothing here is re-encoded and nothing goes through Redis but the
route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from typing import Protocol

from live import metrics
from live.routing.link import (
    ENDED,
    KEYFRAME,
    MAX_PART,
    NETWORK_PART,
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
    encode_subscribe,
    format_address,
    is_gap,
    subscribe_accepted,
)
from live.routing.sealed import LinkSealer
from live.routing.tree import RelayTree
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
# At most one keyframe request per room sent up the tree per this many seconds.
KEYFRAME_UP_S = 0.25

Address = tuple[str, int]
SENT = metrics.MEDIA_RELAY_FRAMES.labels("sent")
RECEIVED = metrics.MEDIA_RELAY_FRAMES.labels("received")
LAG = metrics.MEDIA_RELAY_LAG
NODE_SENT = metrics.NODE_RELAY_FRAMES.labels("sent")
NODE_RECEIVED = metrics.NODE_RELAY_FRAMES.labels("received")


class LinkSink(Protocol):
    """This process's media, as the links call it (live.media.hub.MediaHub)."""

    def link_frame(self, frame: LinkFrame, gap: bool) -> None:
        """A frame pulled from upstream; `gap`: a frame before it was lost."""

    def link_keyframe_request(self, room_id: str) -> None:
        """At the origin: a subscriber's viewer asked for a keyframe."""

    def link_origin_changed(self, room_id: str, origin: WorkerAddress | None) -> None:
        """At a puller: the room's origin is another worker now, or none (`None`)."""

    def link_room_ended(self, room_id: str) -> None:
        """At a puller: the origin says the room ended."""


class _Watch:
    """A puller's subscription to one room."""

    __slots__ = ("keyframe_asked", "last_seq", "origin", "owner", "role", "wanted")

    def __init__(self) -> None:
        self.owner: str | None = None  # the owner lease's value last read
        self.origin: Address | None = None  # where frames come from (None: none, or us)
        self.role = "none"  # the route's role (live.routing.tree.Route)
        self.last_seq: dict[str, int] = {}
        self.wanted = True  # this process has viewers of the room
        self.keyframe_asked = 0.0


def bind_relay_socket(host: str, port_min: int, port_max: int) -> socket.socket:
    """A non-blocking UDP socket on `host`, on a free port of the range (0, 0: any)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, BUFFER_BYTES)
    if not port_min:
        sock.bind((host, 0))
    else:
        ports = list(range(port_min, max(port_min, port_max) + 1))
        start = random.randrange(len(ports))
        for port in ports[start:] + ports[:start]:
            try:
                sock.bind((host, port))
                break
            except OSError:
                continue
        else:
            sock.close()
            raise OSError(f"no free relay link port in {port_min}-{port_max} on {host}")
    sock.setblocking(False)
    return sock


class RelayLinks:
    def __init__(
        self,
        tree: RelayTree,
        sealer: LinkSealer,
        host: str = "127.0.0.1",
        port_range: tuple[int, int] = (0, 0),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tree = tree
        self._sealer = sealer
        self._host = host
        self._port_range = port_range
        self._now = clock
        self._sock: socket.socket | None = None
        self._sink: LinkSink | None = None
        self.address: Address | None = None
        # This worker as the relay tree names it (its owner-lease form), set by `named`.
        self._worker = ""
        self._subscribers = Subscribers()
        self._seq: dict[tuple[str, str], int] = {}
        self._watched: dict[str, _Watch] = {}
        self._reassembler = Reassembler()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ------------------------------------------------------------
    def start(self, sink: LinkSink) -> Address:
        """Bind this process's link socket; the address other processes reach it at."""
        sock = bind_relay_socket(self._host, *self._port_range)
        self._sock, self._sink = sock, sink
        self.address = sock.getsockname()[:2]
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        self._task = asyncio.create_task(self._renew_forever())
        return self.address

    def named(self, worker: str) -> None:
        """This worker's address as the owner lease and the relay tree write it."""
        self._worker = worker

    async def aclose(self) -> None:
        await stop_task(self._task)
        for room_id in list(self._watched):
            await self._stop_watch(room_id)
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
        """One frame of a room this process originates, to each subscriber once."""
        if not self._subscribers.of(room_id):
            return
        slot = (room_id, kind)
        seq = self._seq[slot] = (self._seq.get(slot, -1) + 1) & 0xFFFFFFFF
        sent_us = time.time_ns() // 1000
        self._send_on(
            LinkFrame(room_id, kind, keyframe, source, seq, timestamp, sent_us, data, codec)
        )

    def _send_on(self, frame: LinkFrame) -> None:
        """`frame` to every subscriber of its room, cut once per part size asked for."""
        cut: dict[int, list[bytes]] = {}
        for edge, terms in self._subscribers.terms(frame.room_id):
            datagrams = cut.get(terms.max_part)
            if datagrams is None:
                datagrams = cut[terms.max_part] = encode_frame(
                    self._sealer,
                    frame.room_id,
                    frame.kind,
                    frame.keyframe,
                    frame.source,
                    frame.seq,
                    frame.timestamp,
                    frame.sent_us,
                    frame.data,
                    terms.max_part,
                    frame.codec,
                )
            for datagram in datagrams:
                self._send(datagram, edge)  # type: ignore[arg-type]
            SENT.inc()
            if terms.remote:
                NODE_SENT.inc()

    def send_ended(self, room_id: str) -> None:
        """The room ended: its subscribers close their viewers' sessions (and tell theirs)."""
        datagram = encode_control(self._sealer, ENDED, room_id)
        for edge in self._subscribers.of(room_id):
            self._send(datagram, edge)  # type: ignore[arg-type]
            self._subscribers.drop(room_id, edge)

    def edges(self, room_id: str) -> int:
        return len(self._subscribers.of(room_id))

    # --- puller side ----------------------------------------------------------------
    async def watch(self, room_id: str) -> str | None:
        """Pull the room (now, and until `unwatch`); the owner lease's value (None: no
        process holds the room)."""
        watch = self._watched.get(room_id)
        if watch is None:
            watch = self._watched[room_id] = _Watch()
            await self._resolve(room_id)
        watch.wanted = True
        return watch.owner

    def unwatch(self, room_id: str) -> None:
        """This process's viewers of the room are gone; it keeps pulling while others
        pull from it (it is a relay)."""
        watch = self._watched.get(room_id)
        if watch is None:
            return
        watch.wanted = False
        if not self._subscribers.of(room_id):
            self._soon_stop(room_id)

    def stop_pulling(self, room_id: str) -> None:
        """This process originates the room now: it pulls it from nowhere (its subscribers
        stay, and get the frames of its own publisher)."""
        if room_id in self._watched:
            self._soon_stop(room_id)

    def _soon_stop(self, room_id: str) -> None:
        watch = self._watched.pop(room_id, None)
        self._reassembler.forget(room_id)
        if watch is None:
            return
        if watch.origin is not None:
            self._send(encode_control(self._sealer, UNSUBSCRIBE, room_id), watch.origin)
        if watch.role == "relay" and self._loop is not None:
            task = self._loop.create_task(self._leave(room_id))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _stop_watch(self, room_id: str) -> None:
        watch = self._watched.get(room_id)
        relay = watch is not None and watch.role == "relay"
        self._soon_stop(room_id)
        if relay:
            await self._leave(room_id)

    async def _leave(self, room_id: str) -> None:
        try:
            await self._tree.leave(room_id, self._worker)
        except Exception:
            log.warning("could not leave the room's relay tree", extra={"room_id": room_id})

    def watching(self, room_id: str) -> bool:
        watch = self._watched.get(room_id)
        return watch is not None and watch.origin is not None

    def request_keyframe(self, room_id: str) -> bool:
        """Ask upstream for a keyframe; False when there is nobody to ask."""
        watch = self._watched.get(room_id)
        if watch is None or watch.origin is None:
            return False
        self._send(encode_control(self._sealer, KEYFRAME, room_id), watch.origin)
        return True

    def route_of(self, room_id: str) -> str:
        """How this process pulls the room: its route's role ("none" when it does not)."""
        watch = self._watched.get(room_id)
        return watch.role if watch is not None else "none"

    async def _resolve(self, room_id: str) -> None:
        route = await self._tree.route(room_id, self._worker)
        watch = self._watched.get(room_id)
        if watch is None:
            return  # unwatched meanwhile
        parent = route.parent
        relay = parent.relay if parent is not None and route.role != "origin" else None
        ours = route.role == "origin" or (relay is not None and relay == self.address)
        if ours:
            relay = None  # this process holds the room: nothing to pull
        if route.owner != watch.owner:
            # Another publisher's frames (or none): the counters start again.
            watch.last_seq.clear()
            self._reassembler.forget(room_id)
            if self._sink is not None and not ours:
                owner = WorkerAddress.parse(route.owner) if route.owner else None
                self._sink.link_origin_changed(room_id, owner)
        if relay != watch.origin:
            if watch.origin is not None:
                self._send(encode_control(self._sealer, UNSUBSCRIBE, room_id), watch.origin)
            log.info(
                "relay link parent",
                extra={"room_id": room_id, "role": route.role, "parent": relay},
            )
            watch.origin = relay
        watch.owner = route.owner
        watch.role = route.role
        if relay is not None and self.address is not None:
            remote = route.role == "relay"
            subscribe = encode_subscribe(
                self._sealer,
                room_id,
                int(LEASE_S * 1000),
                format_address(self.address),
                time.time_ns() // 1_000_000,
                NETWORK_PART if remote else MAX_PART,
                remote,
            )
            self._send(subscribe, relay)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(RENEW_S)
            gone = self._subscribers.expire(self._now())
            if gone:
                log.info("relay subscriptions lapsed", extra={"count": gone})
            for room_id, watch in list(self._watched.items()):
                if not watch.wanted and not self._subscribers.of(room_id):
                    await self._stop_watch(room_id)
                    continue
                try:
                    await self._resolve(room_id)
                except Exception:
                    log.exception("could not resolve the room's route", extra={"room_id": room_id})
            self._gauges()

    def _gauges(self) -> None:
        metrics.MEDIA_RELAY_LINKS.labels("origin").set(self._subscribers.count())
        pulled = [w for w in self._watched.values() if w.origin is not None]
        metrics.MEDIA_RELAY_LINKS.labels("edge").set(len(pulled))
        metrics.NODE_RELAY_LINKS.labels("down").set(self._subscribers.count(remote=True))
        metrics.NODE_RELAY_LINKS.labels("up").set(sum(w.role == "relay" for w in pulled))

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
            # The other process is gone (its lease lapses) or the buffer refused: a
            # datagram link loses this one; the receiver notices the gap.
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
        message = decode(self._sealer, data)
        if isinstance(message, Control):
            self._control(message, sender)
            return
        if not self._from_upstream(message.room_id, sender):
            return
        frame = self._reassembler.add(message)
        if frame is None:
            return
        watch = self._watched[frame.room_id]
        RECEIVED.inc()
        lag = max(0, time.time_ns() // 1000 - frame.sent_us) / 1e6
        LAG.observe(lag)
        if watch.role == "relay":
            NODE_RECEIVED.inc()
            metrics.NODE_RELAY_LAG.observe(lag)
        gap = is_gap(watch.last_seq.get(frame.kind), frame.seq)
        if gap:
            metrics.MEDIA_RELAY_DROPPED.labels("gap").inc()
        watch.last_seq[frame.kind] = frame.seq
        # Those pulling from this process first: each hop adds as little as it can.
        self._send_on(frame)
        assert self._sink is not None
        self._sink.link_frame(frame, gap)

    def _control(self, message: Control, sender: Address) -> None:
        sink = self._sink
        assert sink is not None
        room_id = message.room_id
        if message.type == SUBSCRIBE:
            if not subscribe_accepted(message, sender, time.time_ns() // 1_000_000):
                metrics.MEDIA_RELAY_DROPPED.labels("refused").inc()
                return
            lease_s = min(message.lease_ms / 1000, 4 * LEASE_S)
            renewed = self._subscribers.renew(
                room_id, sender, lease_s, self._now(), message.max_part, message.remote
            )
            if renewed:
                log.info(
                    "relay subscriber joined", extra={"room_id": room_id, "remote": message.remote}
                )
                # A new subscriber's viewers wait for a keyframe: ask for one now.
                self._keyframe_wanted(room_id)
        elif message.type == UNSUBSCRIBE:
            self._subscribers.drop(room_id, sender)
        elif message.type == KEYFRAME:
            self._keyframe_wanted(room_id)
        elif message.type == ENDED and self._from_upstream(room_id, sender):
            self.send_ended(room_id)
            sink.link_room_ended(room_id)

    def _keyframe_wanted(self, room_id: str) -> None:
        """A subscriber needs a keyframe: from this process's publisher, or from upstream
        (at most once per `KEYFRAME_UP_S`: a relay's many subscribers ask at once)."""
        watch = self._watched.get(room_id)
        if watch is None or watch.origin is None:
            assert self._sink is not None
            self._sink.link_keyframe_request(room_id)
            return
        now = self._now()
        if now - watch.keyframe_asked >= KEYFRAME_UP_S:
            watch.keyframe_asked = now
            self.request_keyframe(room_id)

    def _from_upstream(self, room_id: str, sender: Address) -> bool:
        watch = self._watched.get(room_id)
        return watch is not None and watch.origin == sender
