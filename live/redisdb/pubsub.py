"""The room channels' subscriptions, on sharded pub/sub (`SSUBSCRIBE`) in both modes.

Scripts publish room events with `SPUBLISH` (lua/_lib.lua `publish_room`): on a cluster the
message stays on the shard that owns the room's slot instead of crossing every node's bus,
and on one Redis 7 server sharded pub/sub behaves as plain pub/sub does, so one code path
serves both modes and the whole test suite runs it.

`RoomSubscriber` is what the room hub uses; messages come back as redis-py's dicts with
the non-sharded type names (`message`, `subscribe`, `unsubscribe`), `channel` and `data`
as bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from live.redisdb.client import Redis, is_cluster, node_client
from live.redisdb.errors import RedisConnectionError

log = logging.getLogger("live.redisdb")

Message = dict[str, Any]
_PLAIN_TYPES = {"smessage": "message", "ssubscribe": "subscribe", "sunsubscribe": "unsubscribe"}


class RoomSubscriber(Protocol):
    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    async def get_message(self, wait_s: float) -> Message | None:
        """The next message, None after `wait_s` s; raises when a subscription is lost
        (the subscriber then resubscribes by itself, and says so with `subscribe`)."""
        ...

    async def aclose(self) -> None: ...


class SubscriptionLost(RedisConnectionError):  # type: ignore[misc]  # redis-py is untyped here
    """The connection to one primary failed: these channels may have missed messages
    (the others did not). They are being resubscribed on the slots' new owner."""

    def __init__(self, message: str, channels: frozenset[str]) -> None:
        super().__init__(message)
        self.channels = channels


def room_subscriber(client: Redis) -> RoomSubscriber:
    return ClusterSubscriber(client) if is_cluster(client) else SingleSubscriber(client)


def _plain(message: Message) -> Message:
    kind = message.get("type")
    if isinstance(kind, bytes):
        kind = kind.decode()
    message["type"] = _PLAIN_TYPES.get(str(kind), kind)
    return message


class SingleSubscriber:
    """One redis-py PubSub on the one server (it reconnects and resubscribes itself)."""

    def __init__(self, client: Redis) -> None:
        self._pubsub = client.pubsub()

    async def subscribe(self, channel: str) -> None:
        await self._pubsub.ssubscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        await self._pubsub.sunsubscribe(channel)

    async def get_message(self, wait_s: float) -> Message | None:
        message = await self._pubsub.get_message(timeout=wait_s)
        return None if message is None else _plain(message)

    async def aclose(self) -> None:
        await self._pubsub.aclose()


class _Feed:
    """The subscriptions held on one primary: one connection and its reader task."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.pubsub = client.pubsub()
        self.channels: set[str] = set()
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None


class ClusterSubscriber:
    """One connection per primary that owns a subscribed room's slot, each read by its
    own task into one inbox (redis-py's ClusterPubSub polls its nodes in turn, each for
    the whole timeout, which would hold a room's events up behind a quiet node).

    When a primary's connection fails (it died; its replica takes over), the error is
    reported once and its channels move to the slots' new owners as soon as the cluster
    says who they are."""

    REROUTE_FOR_S = 60.0

    def __init__(self, cluster: Redis) -> None:
        self._cluster = cluster
        self._feeds: dict[str, _Feed] = {}
        self._where: dict[str, str] = {}
        self._inbox: asyncio.Queue[Message | BaseException] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    async def subscribe(self, channel: str) -> None:
        await self._cluster.initialize()
        node = self._cluster.get_node_from_key(channel)
        feed = self._feeds.get(node.name)
        if feed is None:
            feed = self._feeds[node.name] = _Feed(node_client(self._cluster, node))
        async with feed.lock:
            try:
                await feed.pubsub.ssubscribe(channel)
            except BaseException:
                if feed.reader is None and not feed.channels and self._feeds.get(node.name) is feed:
                    # Never connected (a node just lost, say): do not keep it around.
                    del self._feeds[node.name]
                    await _close_feed(feed)
                raise
            feed.channels.add(channel)
            self._where[channel] = node.name
            if feed.reader is None:
                # Only once the connection exists: redis-py cannot read a PubSub before.
                feed.reader = self._spawn(self._read(node.name, feed))

    async def unsubscribe(self, channel: str) -> None:
        feed = self._feeds.get(self._where.pop(channel, ""))
        if feed is None:
            return
        feed.channels.discard(channel)
        async with feed.lock:
            await feed.pubsub.sunsubscribe(channel)

    async def get_message(self, wait_s: float) -> Message | None:
        try:
            item = await asyncio.wait_for(self._inbox.get(), wait_s)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for feed in self._feeds.values():
            await _close_feed(feed)
        self._feeds.clear()

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read(self, name: str, feed: _Feed) -> None:
        while True:
            try:
                message = await feed.pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                self._inbox.put_nowait(SubscriptionLost(str(exc), frozenset(feed.channels)))
                break
            if message is not None:
                self._inbox.put_nowait(_plain(message))
        if self._feeds.get(name) is feed:
            del self._feeds[name]
        await _close_feed(feed)
        await self._reroute(feed.channels)

    async def _reroute(self, channels: set[str]) -> None:
        """Subscribe `channels` again wherever their slots live now (after a failover)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.REROUTE_FOR_S
        pending = set(channels)
        while pending and not self._closed and loop.time() < deadline:
            with contextlib.suppress(RedisError, OSError):
                await self._cluster.nodes_manager.initialize()
            for channel in list(pending):
                if self._where.get(channel) is None:
                    pending.discard(channel)  # unsubscribed meanwhile
                    continue
                try:
                    await self.subscribe(channel)
                    pending.discard(channel)
                except (RedisError, OSError):
                    pass
            if pending:
                await asyncio.sleep(0.5)
        if pending:
            log.warning("room channels not resubscribed", extra={"channels": len(pending)})


async def _close_feed(feed: _Feed) -> None:
    with contextlib.suppress(RedisError, OSError):
        await feed.pubsub.aclose()
    with contextlib.suppress(RedisError, OSError):
        await feed.client.aclose()
