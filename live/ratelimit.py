"""Fixed-window rate limits kept in Redis, so every worker process shares them."""

from __future__ import annotations

from live.redisdb.client import Redis


async def within_limit(redis: Redis, key: str, limit: int, window_s: int) -> bool:
    """Count one hit on `key`; True while the window's count is at most `limit`.
    One round trip: INCR and the window's EXPIRE travel in one pipeline."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s, nx=True)
        count, _ = await pipe.execute()
    return int(count) <= limit
