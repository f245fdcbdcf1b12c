"""A room's latest picture in Redis: one hash under the room's tag, every worker serves it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.settings import RoomSettings


@dataclass(frozen=True)
class Thumbnail:
    jpeg: bytes
    etag: str  # a digest of the bytes: the same picture is never sent twice to a cache
    taken_at: int  # epoch ms


class ThumbnailStore:
    def __init__(self, redis: Redis, keys: Keys, settings: RoomSettings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings

    async def put(self, room_id: str, jpeg: bytes, now_ms: int) -> Thumbnail:
        """Replace the room's picture; it lives as long as an idle room does."""
        thumb = Thumbnail(jpeg, hashlib.blake2b(jpeg, digest_size=12).hexdigest(), now_ms)
        key = self._keys.room_thumbnail(room_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping={"jpeg": jpeg, "etag": thumb.etag, "at": now_ms})
            pipe.expire(key, self._settings.idle_retention_s)
            await pipe.execute()
        return thumb

    async def get(self, room_id: str) -> Thumbnail | None:
        data = await self._redis.hgetall(self._keys.room_thumbnail(room_id))
        if not data or b"jpeg" not in data:
            return None
        return Thumbnail(data[b"jpeg"], data[b"etag"].decode(), int(data[b"at"]))
