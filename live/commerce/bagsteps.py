"""The Redis calls of a bag checkout and of an order's product steps, batched: whatever
checkouts ask for in one event-loop turn (their begins, reserves, commits, index writes)
goes out as one packed batch per Redis primary (live/redisdb/batch.py `MixedBatcher`), so
concurrent checkouts share one flush and one round trip per turn, whatever step each is at.
"""

from __future__ import annotations

import asyncio
from typing import Any

from live.redisdb.batch import MixedBatcher, ReplicaWait
from live.redisdb.client import Redis
from live.redisdb.scripts import Scripts
from live.settings import CommerceSettings

SCRIPTS = ("bag_begin", "inv_reserve", "inv", "bag_commit", "bag_checkout")


class CheckoutSteps:
    """Each method queues one call for this turn's batch and answers its reply's future."""

    def __init__(self, redis: Redis, scripts: Scripts, commerce: CommerceSettings) -> None:
        # With `durability = "replicated"` each batch ends with one WAIT (an order and its
        # units are answered only once the shard's replicas have them).
        self._batch = MixedBatcher(redis, scripts, SCRIPTS, wait=ReplicaWait.of(commerce))
        self._redis = redis
        self._scripts = scripts

    async def load(self) -> None:
        """Load the scripts into Redis (every primary), so one that no longer compiles
        (a composed one: bag_checkout.lua) fails the start-up, not a checkout."""
        for name in SCRIPTS:
            await self._redis.script_load(self._scripts.get(name).script)

    def begin(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """bag_begin.lua on the room's slot."""
        return self._batch.script("bag_begin", keys, args)

    def reserve(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """inv_reserve.lua: a stocked product's lines, on the product's slot."""
        return self._batch.script("inv_reserve", keys, args)

    def product(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """inv.lua: any product step, on the product's slot."""
        return self._batch.script("inv", keys, args)

    def commit(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """bag_commit.lua on the room's slot."""
        return self._batch.script("bag_commit", keys, args)

    def whole(self, keys: list[str], args: list[Any]) -> asyncio.Future[Any]:
        """bag_checkout.lua: the whole checkout in one script (every key on one server or
        slot: see BagStore.checkout)."""
        return self._batch.script("bag_checkout", keys, args)

    def index(self, key: str, score: int, member: str) -> asyncio.Future[Any]:
        """ZADD of a global index (the shop's sweep list, a buyer's rooms)."""
        return self._batch.command(key, "ZADD", key, score, member)
