"""The shop sweeper every server process runs: bag holds past their deadline expire (their
units back within a second), checkouts a crash left unfinished are undone, and every
journaled product step is done (live/commerce/bag.py). Workers share nothing but Redis;
each step checks before it changes, so several workers never do one twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from live.clock import Clock
from live.commerce.bag import BagStore
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.scripts import Scripts
from live.settings import CommerceSettings

log = logging.getLogger("live.commerce.shop")
# A room idle this long (no checkout since) leaves the sweep list once nothing is owed.
RETIRE_AFTER_MS = 600_000


class ShopSweeper:
    def __init__(
        self,
        bag: BagStore,
        redis: Redis,
        scripts: Scripts,
        clock: Clock,
        commerce: CommerceSettings,
    ) -> None:
        self._bag = bag
        self._redis = redis
        self._scripts = scripts
        self._clock = clock
        self._interval_s = commerce.sweep_interval_ms / 1000
        self._stopped = False

    async def run(self) -> None:
        while not self._stopped:
            try:
                await self.tick()
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if self._stopped or (task is not None and task.cancelling()):
                    raise asyncio.CancelledError from exc
                log.warning("shop sweep failed", extra={"error": str(exc)})
            await asyncio.sleep(self._interval_s)

    def stop(self) -> None:
        self._stopped = True

    async def tick(self) -> None:
        key = self._bag.shop_keys.shop_rooms()
        rooms = await self._redis.zrange(key, 0, -1, withscores=True)
        now = self._clock.now_ms()
        for raw, score in rooms:
            room_id = raw.decode()
            idle = await self._bag.sweep(room_id)
            if idle and score < now - RETIRE_AFTER_MS:
                await self._scripts.call("shop_retire", [key], [room_id, int(score)])

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ShopSweeper]:
        """Run this process's shop sweeper in the background until the block ends."""
        task = asyncio.create_task(self.run(), name="shop-sweeper")
        try:
            yield self
        finally:
            self.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
