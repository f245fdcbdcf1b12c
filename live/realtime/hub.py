"""RoomHub: one process's fan-out. One Redis pub/sub subscription per room with local
connections; each tick, a room's events become one frame, built once and pushed to every
local connection of the room. Likes and presence reach Redis once per tick per room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from live import metrics
from live.auth import Identity, new_id
from live.realtime.batch import (
    Event,
    RoomBatch,
    after,
    for_staff,
    frame,
    frame_bytes,
    personal_targets,
)
from live.realtime.conncap import ConnectionCap
from live.realtime.outbox import Outbox, Send, text_message, wire_frame
from live.realtime.protocol import CLOSE_FORBIDDEN, CLOSE_RESTARTING, CLOSE_ROOM_ENDED
from live.realtime.store import ChannelStore
from live.realtime.uvicorn_private import DirectWriter
from live.redisdb.client import Redis
from live.redisdb.errors import RedisConnectionError, RedisError
from live.redisdb.keys import Keys
from live.redisdb.pubsub import SubscriptionLost, room_subscriber
from live.redisdb.scripts import Scripts
from live.settings import Settings

log = logging.getLogger("live.realtime")

# A room without local connections keeps its subscription this long (reconnect storms).
UNSUBSCRIBE_AFTER_S = 10.0
SUBSCRIBE_TIMEOUT_S = 5.0


class Connection:
    """One websocket of a room, as the hub sees it."""

    def __init__(
        self,
        room_id: str,
        identity: Identity | None,
        send: Send,
        limit: int,
        on_closed: Callable[[Connection], None],
        ip: str = "",
        direct: DirectWriter | None = None,
    ) -> None:
        self.room_id = room_id
        self.ip = ip
        self.user_id = identity.user_id if identity else None
        self.is_staff = identity is not None and identity.may_manage(room_id)
        self.outbox = Outbox(send, limit, lambda _code: on_closed(self), direct)
        # Events that arrive while the snapshot is being read; None once live.
        self.joining: list[Event] | None = []
        # After the snapshot: durable events up to this seq are already sent.
        self.skip_upto: int | None = None


@dataclass
class LocalRoom:
    conns: set[Connection] = field(default_factory=set)
    by_user: dict[str, set[Connection]] = field(default_factory=dict)
    staff: set[Connection] = field(default_factory=set)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    empty_since: float | None = None
    # Set when subscribing to the room's channel failed: its joiners fail too.
    failed: BaseException | None = None
    # When the room's last frame went out (loop time): the next waits out the tick.
    last_flush: float = float("-inf")

    @property
    def viewers(self) -> int:
        return len(self.conns) - len(self.staff)


class RoomHub:
    def __init__(
        self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings, store: ChannelStore
    ) -> None:
        self._keys = keys
        self._store = store
        realtime = settings.realtime
        self._tick_s = realtime.tick_ms / 1000
        self._immediate_first = realtime.immediate_first
        # Events that race a countdown (bids): their frame does not wait for the tick's end.
        self._urgent = frozenset(realtime.urgent_events)
        self._heartbeat_s = realtime.presence_heartbeat_s
        self.process_id = new_id("p")
        self._rooms: dict[str, LocalRoom] = {}
        self._channels: dict[bytes, str] = {}
        self._pending: dict[str, RoomBatch] = {}
        self._flush_timers: dict[str, asyncio.TimerHandle] = {}
        self._likes: dict[str, int] = {}
        self._presence_dirty: set[str] = set()
        # Created now, connected on the first subscription (sharded pub/sub, one reader per
        # primary on a cluster).
        self._pubsub = room_subscriber(redis)
        self._has_subscriptions = asyncio.Event()
        self._side_work: asyncio.Task[None] | None = None
        self._last_heartbeat = 0.0
        # The per-IP connection limit, shared with every process through Redis; its leases
        # are renewed on the presence heartbeat.
        self.cap = ConnectionCap(
            redis,
            keys,
            scripts,
            self.process_id,
            limit=settings.limits.connections_per_ip,
            heartbeat_s=realtime.presence_heartbeat_s,
        )

    # --- connections ---------------------------------------------------------------
    async def join(self, conn: Connection) -> None:
        """Register `conn`; returns once the room's events reach this process."""
        room = self._rooms.get(conn.room_id)
        if room is None:
            room = self._rooms[conn.room_id] = LocalRoom()
            channel = self._keys.room_channel(conn.room_id)
            self._channels[channel.encode()] = conn.room_id
            try:
                await self._pubsub.subscribe(channel)
            except BaseException as exc:
                self._subscribe_failed(conn.room_id, room, channel, exc)
                raise
            self._has_subscriptions.set()
        room.conns.add(conn)
        room.empty_since = None
        if conn.user_id is not None:
            room.by_user.setdefault(conn.user_id, set()).add(conn)
        if conn.is_staff:
            room.staff.add(conn)
        self._presence_dirty.add(conn.room_id)
        metrics.WS_CONNECTIONS.inc()
        await asyncio.wait_for(room.subscribed.wait(), SUBSCRIBE_TIMEOUT_S)
        if room.failed is not None:
            raise RedisConnectionError("the room's channel could not be subscribed to")

    def _subscribe_failed(
        self, room_id: str, room: LocalRoom, channel: str, exc: BaseException
    ) -> None:
        """Forget the room, and fail those who joined while it subscribed: at once, rather
        than at their timeout (they are no longer counted)."""
        if self._rooms.get(room_id) is room:
            del self._rooms[room_id]
        self._channels.pop(channel.encode(), None)
        for other in list(room.conns):
            self._remove(room, other)
        room.failed = exc
        room.subscribed.set()

    def leave(self, conn: Connection) -> None:
        room = self._rooms.get(conn.room_id)
        if room is not None:
            self._remove(room, conn)

    def _remove(self, room: LocalRoom, conn: Connection) -> None:
        if conn not in room.conns:
            return
        room.conns.discard(conn)
        room.staff.discard(conn)
        if conn.user_id is not None:
            users = room.by_user.get(conn.user_id, set())
            users.discard(conn)
            if not users:
                room.by_user.pop(conn.user_id, None)
        if not room.conns:
            room.empty_since = time.monotonic()
        self._presence_dirty.add(conn.room_id)
        metrics.WS_CONNECTIONS.dec()

    def go_live(self, conn: Connection, snapshot_frame: list[bytes], seq: int) -> None:
        """Send the snapshot and what arrived meanwhile; from now on `conn` gets batches."""
        waiting = after(conn.joining or [], seq)
        conn.joining = None
        last = max([seq, *(e.seq for e in waiting if e.seq is not None)])
        conn.skip_upto = last
        conn.outbox.push(frame([*snapshot_frame, *(e.raw for e in waiting)]))

    def local_connections(self, room_id: str) -> list[Connection]:
        """This process's connections of the room (diagnostics and tests)."""
        room = self._rooms.get(room_id)
        return list(room.conns) if room else []

    def add_like(self, room_id: str) -> None:
        self._likes[room_id] = self._likes.get(room_id, 0) + 1

    def close_room(self, room_id: str, code: int) -> None:
        room = self._rooms.get(room_id)
        for conn in list(room.conns if room else ()):
            conn.outbox.close(code)

    def close_all(self, code: int) -> None:
        for room_id in list(self._rooms):
            self.close_room(room_id, code)

    # --- running -------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RoomHub]:
        tasks = [
            asyncio.create_task(self._read_loop(), name="hub-read"),
            asyncio.create_task(self._tick_loop(), name="hub-tick"),
        ]
        try:
            yield self
        finally:
            self.close_all(CLOSE_RESTARTING)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(RedisError, OSError):
                await self._report_presence(final=True)
            with contextlib.suppress(RedisError, OSError):
                await self.cap.release_all()
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()

    async def _read_loop(self) -> None:
        while True:
            await self._has_subscriptions.wait()
            try:
                message = await self._pubsub.get_message(wait_s=1.0)
            except SubscriptionLost as exc:
                # One shard of a cluster: only its rooms may have missed events.
                log.warning("room channels lost", extra={"error": str(exc)})
                for channel in exc.channels:
                    self.close_room(self._channels.get(channel.encode(), ""), CLOSE_RESTARTING)
                continue
            except (RedisError, OSError) as exc:
                log.warning("room channel subscription lost", extra={"error": str(exc)})
                # Events may have been missed: clients reconnect and resume from history.
                self.close_all(CLOSE_RESTARTING)
                await asyncio.sleep(0.5)
                continue
            if message is not None:
                try:
                    self._on_message(message)
                except Exception:
                    # One bad message (not JSON, say) must not stop the room's stream.
                    log.exception("room channel message dropped")

    def _on_message(self, message: dict[str, object]) -> None:
        channel = message.get("channel")
        room_id = self._channels.get(channel) if isinstance(channel, bytes) else None
        room = self._rooms.get(room_id) if room_id else None
        if room_id is None or room is None:
            return
        kind = message.get("type")
        if kind == "message":
            raw = message["data"]
            assert isinstance(raw, bytes)
            data = orjson.loads(raw)
            event = Event.parse(raw, data)
            urgent = event.type in self._urgent
            batch = self._pending.get(room_id)
            if batch is None:
                batch = self._pending[room_id] = RoomBatch()
                self._schedule_flush(room_id, room, urgent)
            elif urgent:
                self._schedule_flush(room_id, room, True)
            batch.add(event, data)
        elif kind == "subscribe":
            if room.subscribed.is_set():
                # A resubscription after a reconnect: events may have been lost meanwhile.
                self.close_room(room_id, CLOSE_RESTARTING)
            room.subscribed.set()

    def _schedule_flush(self, room_id: str, room: LocalRoom, urgent: bool) -> None:
        # A busy room sends at most one frame per tick. Without `immediate_first` a frame
        # waits for the tick's end (every room's frames go out together); with it, or for
        # an urgent event (a bid), the frame goes as soon as the room's last one is a tick
        # old: at once, after a quiet tick. An urgent event may bring a waiting frame
        # forward, never push one back.
        loop = asyncio.get_running_loop()
        now = loop.time()
        if urgent or self._immediate_first:
            at = max(now, room.last_flush + self._tick_s)
        else:
            at = now + self._tick_s - (now % self._tick_s)
        waiting = self._flush_timers.get(room_id)
        if waiting is not None:
            if waiting.when() <= at:
                return
            waiting.cancel()
        self._flush_timers[room_id] = loop.call_at(at, self._flush, room_id)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            self._start_side_work()

    # --- fan-out -------------------------------------------------------------------
    def _flush(self, room_id: str) -> None:
        self._flush_timers.pop(room_id, None)
        batch = self._pending.pop(room_id, None)
        room = self._rooms.get(room_id)
        if batch is None or room is None or not room.conns:
            return
        room.last_flush = asyncio.get_running_loop().time()
        try:
            self._fan_out(room_id, room, batch)
        except Exception:
            log.exception("room channel fan-out failed", extra={"room_id": room_id})

    def _fan_out(self, room_id: str, room: LocalRoom, batch: RoomBatch) -> None:
        events = batch.broadcast()
        message: dict[str, Any] | None = None
        wire: bytes | None = None
        if events:
            # Encoded once for every connection of the room: text and ready-made frame.
            payload = frame_bytes([e.raw for e in events])
            message = text_message(payload.decode())
            wire = wire_frame(payload)
        sent = 0
        for conn in list(room.conns):
            if conn.joining is not None:
                conn.joining.extend(events)
                conn.joining.extend(
                    e for e in batch.personal if personal_targets(e, conn.user_id, conn.is_staff)
                )
            elif conn.skip_upto is not None:
                mine = after(events, conn.skip_upto)
                conn.skip_upto = None
                if mine:
                    sent += conn.outbox.push(frame([e.raw for e in mine]))
            elif message is not None:
                sent += conn.outbox.push_message(message, wire)
        if batch.personal:
            sent += self._deliver_personal(room, batch.personal)
        # Once per fan-out, not per connection: a counter's `inc` takes a lock.
        metrics.WS_FRAMES_SENT.inc(sent)
        if batch.ends_room:
            self.close_room(room_id, CLOSE_ROOM_ENDED)

    def _deliver_personal(self, room: LocalRoom, events: list[Event]) -> int:
        """Push each connection its personal events, in one frame; the frames pushed."""
        mine: dict[Connection, list[bytes]] = {}
        banned: list[Connection] = []
        for event in events:
            targets = set(room.by_user.get(event.to or "", ()))
            if for_staff(event):
                targets |= room.staff
            for conn in targets:
                if conn.joining is None:
                    mine.setdefault(conn, []).append(event.raw)
                if event.type == "banned" and conn.user_id == event.to:
                    banned.append(conn)
        sent = sum(conn.outbox.push(frame(raws)) for conn, raws in mine.items())
        for conn in banned:
            conn.outbox.close(CLOSE_FORBIDDEN, "banned")
        return sent

    # --- likes, presence and idle subscriptions, once per tick ------------------------
    def _start_side_work(self) -> None:
        if self._side_work is None or self._side_work.done():
            self._side_work = asyncio.create_task(self._side_step())

    async def _side_step(self) -> None:
        likes, self._likes = self._likes, {}
        sent = await asyncio.gather(
            *(self._store.add_likes(room_id, n) for room_id, n in likes.items()),
            return_exceptions=True,
        )
        for (room_id, n), result in zip(likes.items(), sent, strict=True):
            if isinstance(result, BaseException):
                # Not counted in Redis: keep the taps for the next tick.
                self._likes[room_id] = self._likes.get(room_id, 0) + n
                log.warning("likes not counted yet", extra={"error": str(result)})
        try:
            await self._report_presence()
            await self._drop_idle_rooms()
        except (RedisError, OSError) as exc:
            log.warning("room channel side work failed", extra={"error": str(exc)})
        except Exception:
            log.exception("room channel side work failed")

    async def _report_presence(self, final: bool = False) -> None:
        now = time.monotonic()
        heartbeat = final or now - self._last_heartbeat >= self._heartbeat_s
        if heartbeat:
            self._last_heartbeat = now
            self._presence_dirty |= set(self._rooms)
        dirty, self._presence_dirty = self._presence_dirty, set()
        ttl_ms = int(self._heartbeat_s * 3000)
        await asyncio.gather(
            # The connection leases of the per-IP limit live as long as presence entries.
            *([self.cap.refresh()] if heartbeat and not final else []),
            *(
                self._store.report_presence(
                    room_id,
                    self.process_id,
                    0 if final else self._viewers(room_id),
                    ttl_ms,
                )
                for room_id in dirty
            ),
        )

    def _viewers(self, room_id: str) -> int:
        room = self._rooms.get(room_id)
        return room.viewers if room else 0

    async def _drop_idle_rooms(self) -> None:
        now = time.monotonic()
        for room_id, room in list(self._rooms.items()):
            if room.empty_since is not None and now - room.empty_since > UNSUBSCRIBE_AFTER_S:
                channel = self._keys.room_channel(room_id)
                del self._rooms[room_id]
                self._channels.pop(channel.encode(), None)
                self._pending.pop(room_id, None)
                timer = self._flush_timers.pop(room_id, None)
                if timer is not None:
                    timer.cancel()
                if not self._rooms:
                    self._has_subscriptions.clear()
                await self._pubsub.unsubscribe(channel)
