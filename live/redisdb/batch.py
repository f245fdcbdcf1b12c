"""Calls of one script that arrive in the same event-loop turn share one Redis round trip.

A flash sale sends thousands of buys at once; writing each as its own command costs a
system call and a reply read per buy. Batched, the buys of one turn go out as one pipeline
(not a transaction: each script is atomic on its own) and each caller gets its own reply.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from live.redisdb.client import Redis
from live.redisdb.scripts import Scripts

Call = tuple[list[str], list[Any], "asyncio.Future[Any]"]
# A batch is resent after a connection error (the scripts are safe to run twice).
RETRIES = 2


class ScriptBatcher:
    def __init__(self, client: Redis, scripts: Scripts, name: str, max_batch: int = 256) -> None:
        self._client = client
        self._script = scripts.get(name)
        self._name = name
        self._max_batch = max_batch
        self._queue: list[Call] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def call(self, keys: list[str], args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush_soon)
        self._queue.append((keys, args, future))
        if len(self._queue) >= self._max_batch:
            self._flush_soon()
        return await future

    def _flush_soon(self) -> None:
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.ensure_future(self._flush(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch: list[Call]) -> None:
        try:
            replies = await self._send(batch)
            missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if missing:
                # A restarted Redis forgot the script; NOSCRIPT means nothing ran.
                # Load the very source whose hash was sent (it depends on settings).
                await self._client.script_load(self._script.script)
                again = await self._send([batch[i] for i in missing])
                for i, reply in zip(missing, again, strict=True):
                    replies[i] = reply
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
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

    async def _send(self, batch: list[Call]) -> list[Any]:
        # hiredis packs a buy in a tenth of the time redis-py's pipeline takes (a batch of
        # one too: it skips redis-py's per-command machinery).
        sha = self._script.sha
        payload = b"".join(
            hiredis.pack_command(("EVALSHA", sha, len(keys), *keys, *args))
            for keys, args, _ in batch
        )
        for attempt in range(RETRIES + 1):
            try:
                return await self._exchange(payload, len(batch))
            except (RedisConnectionError, RedisTimeoutError):
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    async def _exchange(self, payload: bytes, count: int) -> list[Any]:
        """Write the packed batch on one pooled connection and read its `count` replies."""
        pool = self._client.connection_pool
        conn = await pool.get_connection()
        try:
            await conn.send_packed_command(payload)
            replies: list[Any] = []
            # One deadline for the whole batch (`command_timeout_s`) rather than one per
            # reply: math.inf tells redis-py not to start its own.
            async with asyncio.timeout(conn.socket_timeout):
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
        finally:
            await pool.release(conn)
