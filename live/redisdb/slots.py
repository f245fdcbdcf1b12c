"""One connection to the primary that owns a hash slot: a packed batch of commands goes out
and its replies come back on that same connection, so a `WAIT` sent after the writes
measures exactly those writes (redis-py's cluster client would send a bare `WAIT` to a
default node, where it measures nothing).

`SingleLink` talks to the one server; `ClusterLink` to the primary of a key's slot, and
re-reads the cluster's slot map when a node moved a slot or went away (failover).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Hashable
from typing import Any, Protocol

from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from live.redisdb.client import Redis, is_cluster

# Replies that mean "not run here, ask the cluster again": safe to resend.
REROUTE = (MovedError, AskError, TryAgainError, ClusterDownError)


class SlotLink(Protocol):
    def node_of(self, key: str) -> Hashable:
        """The server that owns `key`'s slot (calls on one node share a round trip)."""
        ...

    async def exchange(
        self, node: Hashable, payload: bytes, count: int, extra_s: float = 0.0
    ) -> list[Any]:
        """Write `payload` (packed commands) on one connection of `node` and read its
        `count` replies; error replies come back as exceptions in the list."""
        ...

    async def refresh(self) -> None:
        """Re-read where slots live (after a reroute reply or a lost node)."""
        ...


def one_script_may_touch(client: Redis, keys: list[str]) -> bool:
    """Whether one script may touch every key of `keys`: always on one server (a script
    may span slots there), on a cluster only when they all hash to one slot."""
    if not is_cluster(client):
        return True
    return len({client.keyslot(key) for key in keys}) == 1


def link_for(client: Redis) -> SlotLink:
    return ClusterLink(client) if is_cluster(client) else SingleLink(client)


class SingleLink:
    """The one server. The link keeps the connections it took from the pool (as many as
    its batches ever had in flight at once) and reuses them: taking one from redis-py's
    pool and giving it back (two locks, a socket check, bookkeeping) costs about as much
    as a small batch's own work. A connection that failed is dropped, and a dropped one
    reconnects on its next use."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._idle: list[Any] = []

    def node_of(self, key: str) -> Hashable:
        return ""

    async def exchange(
        self, node: Hashable, payload: bytes, count: int, extra_s: float = 0.0
    ) -> list[Any]:
        conn = (
            self._idle.pop() if self._idle else await self._client.connection_pool.get_connection()
        )
        replies = await _exchange_on(conn, payload, count, extra_s)
        # Only after a whole exchange: a connection left mid-reply is never reused.
        self._idle.append(conn)
        return replies

    async def refresh(self) -> None:
        return None


class ClusterLink:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._refreshing: asyncio.Task[None] | None = None

    def node_of(self, key: str) -> Hashable:
        manager = self._client.nodes_manager
        node: Hashable = manager.get_node_from_slot(self._client.keyslot(key))
        return node

    async def exchange(
        self, node: Hashable, payload: bytes, count: int, extra_s: float = 0.0
    ) -> list[Any]:
        cluster_node: Any = node
        conn = cluster_node.acquire_connection()
        try:
            return await _exchange_on(conn, payload, count, extra_s)
        finally:
            cluster_node.release(conn)

    async def refresh(self) -> None:
        # Many batches may see the same failover at once: one topology read serves them.
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._client.nodes_manager.initialize())
        # On failure the next attempt fails again, with its own error.
        with contextlib.suppress(RedisError, OSError):
            await asyncio.shield(self._refreshing)


async def _exchange_on(conn: Any, payload: bytes, count: int, extra_s: float) -> list[Any]:
    try:
        await conn.send_packed_command(payload)
        replies: list[Any] = []
        # One deadline for the whole batch (`command_timeout_s`, plus a WAIT's own
        # timeout) rather than one per reply: math.inf tells redis-py not to start its own.
        async with asyncio.timeout((conn.socket_timeout or 0) + extra_s or None):
            for _ in range(count):
                try:
                    replies.append(await conn.read_response(timeout=math.inf))
                except ResponseError as exc:
                    replies.append(exc)
        return replies
    except TimeoutError as exc:
        # As redis-py's own read timeout: the connection is dropped below.
        await conn.disconnect()
        raise RedisTimeoutError("Timeout reading from Redis") from exc
    except BaseException:
        # A half-read connection must not go back to the pool in use.
        await conn.disconnect()
        raise
