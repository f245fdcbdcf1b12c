"""Search documents in Redis and each process's index of them.

Every document is one hash `{search}:doc:<kind>:<id>` (its JSON), written by the one
writer of its change, which also appends the key to the stream `{search}:changes` in the
same transaction (one hash tag: one Cluster slot). Each process rebuilds its in-memory
index from the hashes at start and follows the stream with a blocking XREAD, so a change
reaches every worker of every node within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import orjson

from live.clock import Clock
from live.discovery.index import SearchIndex
from live.discovery.model import Document, Hit
from live.redisdb.client import Redis
from live.redisdb.keys import Keys

log = logging.getLogger("live.discovery")
STREAM_MAXLEN = 100_000
BLOCK_MS = 1000


class SearchStore:
    def __init__(self, redis: Redis, keys: Keys, clock: Clock) -> None:
        self._redis = redis
        self._prefix = f"{keys.prefix}:{{search}}"
        self._clock = clock
        self.index = SearchIndex()
        self._last_id = "0-0"

    def _doc_key(self, key: str) -> str:
        return f"{self._prefix}:doc:{key}"

    @property
    def _stream(self) -> str:
        return f"{self._prefix}:changes"

    async def put(self, doc: Document) -> None:
        await self.put_many([doc])

    async def put_many(self, docs: list[Document]) -> None:
        """Write the documents and announce them, in one transaction (one slot)."""
        if not docs:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for doc in docs:
                pipe.set(self._doc_key(doc.key), orjson.dumps(asdict(doc)))
                pipe.xadd(self._stream, {"key": doc.key}, maxlen=STREAM_MAXLEN, approximate=True)
            await pipe.execute()

    async def remove(self, kind: str, doc_id: str) -> None:
        """Delete a document (a replay removed): every process drops it from its index."""
        key = f"{kind}:{doc_id}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._doc_key(key))
            pipe.xadd(self._stream, {"key": key}, maxlen=STREAM_MAXLEN, approximate=True)
            await pipe.execute()

    def search(self, q: str, kind: str | None, depth: int) -> tuple[list[Hit], list[str]]:
        """The best `depth` hits from this process's index (no Redis round trip)."""
        return self.index.search(q, kind, self._clock.now_ms(), depth)

    async def _load(self, keys: list[str]) -> None:
        if not keys:
            return
        values = await self._redis.mget([self._doc_key(k) for k in keys])
        for key, raw in zip(keys, values, strict=True):
            if raw is None:
                self.index.remove(key)
            else:
                self.index.put(Document(**orjson.loads(raw)))

    async def rebuild(self) -> None:
        """The whole index from Redis; the stream is followed from before the scan, so a
        change written meanwhile is applied again (a put is idempotent), never lost."""
        last = await self._redis.xrevrange(self._stream, count=1)
        self._last_id = last[0][0].decode() if last else "0-0"
        prefix = self._doc_key("")
        batch: list[str] = []
        async for raw in self._redis.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(raw.decode()[len(prefix) :])
            if len(batch) >= 1000:
                await self._load(batch)
                batch = []
        await self._load(batch)

    async def follow_once(self) -> None:
        answer: Any = await self._redis.xread({self._stream: self._last_id}, block=BLOCK_MS)
        for _stream, entries in answer or ():
            keys = []
            for entry_id, fields in entries:
                self._last_id = entry_id.decode()
                keys.append(fields[b"key"].decode())
            await self._load(list(dict.fromkeys(keys)))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.rebuild()

        async def follow() -> None:
            while True:
                try:
                    await self.follow_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("search stream read failed")
                    await asyncio.sleep(0.5)

        task = asyncio.create_task(follow())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
