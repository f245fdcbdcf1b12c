"""The Redis errors the rest of live catches, so that only live.redisdb imports redis."""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, WatchError

__all__ = ["RedisClusterException", "RedisConnectionError", "RedisError", "WatchError"]
