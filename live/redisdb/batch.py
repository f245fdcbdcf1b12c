"""Calls of one script (or plain commands) that arrive in the same event-loop turn share
one Redis round trip.

A flash sale sends thousands of buys at once; writing each as its own command costs a
system call and a reply read per buy. Batched, the buys of one turn go out as one pipeline
(not a transaction: each script is atomic on its own) and each caller gets its own reply.
On a cluster the batch is split by the primary owning each call's slot (one round trip per
primary). With `durability = "replicated"` each primary's part ends with one `WAIT`, on
the same connection, and is answered only once enough replicas have it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from live.errors import NotReplicated
from live.redisdb.client import Redis
from live.redisdb.scripts import Scripts
from live.redisdb.slots import REROUTE, SlotLink, link_for
from live.settings import CommerceSettings

Call = tuple[list[str], list[Any], "asyncio.Future[Any]"]
# A batch is resent after a connection error (the scripts are safe to run twice).
RETRIES = 2


@dataclass(frozen=True)
class ReplicaWait:
    """`WAIT min_replicas timeout_ms` after a write, on the write's connection."""

    min_replicas: int
    timeout_ms: int

    @classmethod
    def of(cls, commerce: CommerceSettings) -> ReplicaWait | None:
        if commerce.durability != "replicated":
            return None
        return cls(commerce.min_replicas, commerce.replica_wait_ms)

    def commands(self, route_key: str) -> bytes:
        """A write on the slot, then WAIT. The write moves this connection's replication
        offset past every earlier write of the primary, so a call that wrote nothing itself
        (an idempotent replay) still waits until the order it answers is replicated."""
        mark = _pack("SET", f"{route_key}:w", "1", "PX", "60000")
        return mark + _pack("WAIT", self.min_replicas, self.timeout_ms)


class Batcher:
    """Commands made in one event-loop turn, sent as one packed batch per primary; each
    caller gets its own reply. Subclasses say how a call is packed."""

    def __init__(
        self, client: Redis, max_batch: int = 256, wait: ReplicaWait | None = None
    ) -> None:
        self._client = client
        self._link: SlotLink = link_for(client)
        self._max_batch = max_batch
        self._wait = wait
        self._queue: list[Call] = []
        self._flushing: set[asyncio.Task[None]] = set()

    def submit(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """Queue one call (routed by `keys[0]`) for this turn's batch; its reply's future.
        Several calls submitted before awaiting share the batch (no task per call)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush_soon)
        self._queue.append((keys, args, future))
        if len(self._queue) >= self._max_batch:
            self._flush_soon()
        return future

    async def call(self, keys: list[str], args: list[Any]) -> Any:
        return await self.submit(keys, args)

    def _pack(self, keys: list[str], args: list[Any]) -> bytes:
        raise NotImplementedError

    async def _redo(self, node: Hashable, batch: list[Call], replies: list[Any]) -> None:
        """Replace replies that must be asked again (a script the server forgot)."""

    def _flush_soon(self) -> None:
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.ensure_future(self._flush(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: list[Call]) -> None:
        by_node: dict[Hashable, list[Call]] = {}
        try:
            for call in batch:
                by_node.setdefault(self._link.node_of(call[0][0]), []).append(call)
        except Exception as exc:  # the slot map could not be read
            _fail(batch, exc)
            return
        if len(by_node) == 1:
            # One Redis (or one primary this turn): no task per node.
            ((node, calls),) = by_node.items()
            await self._flush_node(node, calls)
            return
        await asyncio.gather(*(self._flush_node(node, calls) for node, calls in by_node.items()))

    async def _flush_node(self, node: Hashable, batch: list[Call]) -> None:
        try:
            replies = await self._send(node, batch)
            await self._redo(node, batch, replies)
        except BaseException as exc:
            _fail(batch, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, _, future), reply in zip(batch, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _send(self, node: Hashable, batch: list[Call]) -> list[Any]:
        # hiredis packs a call in a tenth of the time redis-py's pipeline takes (a batch of
        # one too: it skips redis-py's per-command machinery).
        payload = b"".join(self._pack(keys, args) for keys, args, _ in batch)
        count, extra_s = len(batch), 0.0
        if self._wait is not None:
            payload += self._wait.commands(batch[0][0][0])
            count, extra_s = count + 2, self._wait.timeout_ms / 1000
        for attempt in range(RETRIES + 1):
            try:
                replies = await self._link.exchange(node, payload, count, extra_s)
            except (RedisConnectionError, RedisTimeoutError):
                if attempt == RETRIES:
                    raise
                # The node may have failed over: read the slot map again.
                await self._link.refresh()
                await asyncio.sleep(0.02 * 2**attempt)
                node = self._link.node_of(batch[0][0][0])
                continue
            if any(isinstance(r, REROUTE) for r in replies) and attempt < RETRIES:
                # A slot moved (resharding, failover): nothing ran there; ask again.
                await self._link.refresh()
                node = self._link.node_of(batch[0][0][0])
                continue
            return self._replicated(replies[: len(batch)], replies[len(batch) :])
        raise AssertionError("unreachable")

    def _replicated(self, replies: list[Any], tail: list[Any]) -> list[Any]:
        """The callers' replies; with a replica wait, NotReplicated for the successful
        ones when fewer replicas than asked acknowledged the batch in time."""
        if self._wait is None:
            return replies
        acked = tail[-1]
        if isinstance(acked, int) and acked >= self._wait.min_replicas:
            return replies
        error = NotReplicated(
            f"the order is not yet on {self._wait.min_replicas} replica(s) of its shard;"
            " retry with the same Idempotency-Key",
            replicas=acked if isinstance(acked, int) else 0,
        )
        return [r if isinstance(r, Exception) else error for r in replies]


class ScriptBatcher(Batcher):
    """Calls of one script (EVALSHA), batched per turn and primary."""

    def __init__(
        self,
        client: Redis,
        scripts: Scripts,
        name: str,
        max_batch: int = 256,
        wait: ReplicaWait | None = None,
    ) -> None:
        super().__init__(client, max_batch, wait)
        self._script = scripts.get(name)
        self._name = name

    def _pack(self, keys: list[str], args: list[Any]) -> bytes:
        return _pack("EVALSHA", self._script.sha, len(keys), *keys, *args)

    async def _redo(self, node: Hashable, batch: list[Call], replies: list[Any]) -> None:
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:
            # A restarted (or newly promoted) server forgot the script; NOSCRIPT means
            # nothing ran. Load the very source whose hash was sent (it depends on
            # settings), on every primary.
            await self._client.script_load(self._script.script)
            again = await self._send(node, [batch[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply


class MixedBatcher(Batcher):
    """Calls of several scripts and plain commands made in one turn, all in one batch per
    primary (one flush, one connection): `script(name, keys, args)` and
    `command(route_key, name, *args)` (a command's keys must share `route_key`'s slot)."""

    def __init__(
        self,
        client: Redis,
        scripts: Scripts,
        names: tuple[str, ...],
        max_batch: int = 256,
        wait: ReplicaWait | None = None,
    ) -> None:
        super().__init__(client, max_batch, wait)
        self._scripts = {name: scripts.get(name) for name in names}

    def script(self, name: str, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        return self.submit(keys, [self._scripts[name], *args])

    def command(self, route_key: str, *command: Any) -> asyncio.Future[Any]:
        return self.submit([route_key], [None, *command])

    def _pack(self, keys: list[str], args: list[Any]) -> bytes:
        script = args[0]
        if script is None:
            return _pack(*args[1:])
        return _pack("EVALSHA", script.sha, len(keys), *keys, *args[1:])

    async def _redo(self, node: Hashable, batch: list[Call], replies: list[Any]) -> None:
        missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
        if missing:
            # As ScriptBatcher: nothing ran; load each forgotten script, then ask again.
            for script in {id(batch[i][1][0]): batch[i][1][0] for i in missing}.values():
                await self._client.script_load(script.script)
            again = await self._send(node, [batch[i] for i in missing])
            for i, reply in zip(missing, again, strict=True):
                replies[i] = reply


def _pack(*parts: Any) -> bytes:
    packed: bytes = hiredis.pack_command(parts)
    return packed


def _fail(batch: list[Call], exc: BaseException) -> None:
    for _, _, future in batch:
        if not future.done():
            future.set_exception(exc)
