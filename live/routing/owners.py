"""Media ownership in Redis: one lease per room, `{r:<room>}:media_owner`.

A process claims a free room and renews its claims on a heartbeat. A claim changes hands
only when its lease has expired (the owner is gone): never because a request to the owner
failed or was slow, which any client could provoke.
"""

from __future__ import annotations

from collections.abc import Iterable

from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts

OWNER_TTL_MS = 15000
# How long a publisher session that ended by itself still answers its DELETE with 200.
ENDED_TTL_MS = 60000


class MediaOwners:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts

    async def claim(self, room_id: str, address: str) -> str:
        """The address of the process holding the room, `address` if it was free."""
        owner = await self._scripts.call(
            "media_claim", [self._keys.room_media_owner(room_id)], [address, OWNER_TTL_MS]
        )
        return owner.decode() if isinstance(owner, bytes) else str(owner)

    async def owner(self, room_id: str) -> str | None:
        value = await self._redis.get(self._keys.room_media_owner(room_id))
        return value.decode() if value else None

    async def renew(self, room_ids: Iterable[str], address: str) -> None:
        for room_id in list(room_ids):
            await self.claim(room_id, address)

    async def publisher_ended(self, room_id: str, session_id: str) -> None:
        """The publisher's session ended without a DELETE (its connection closed)."""
        key = self._keys.room_publisher_ended(room_id, session_id)
        await self._redis.set(key, 1, px=ENDED_TTL_MS)

    async def ended_lately(self, room_id: str, session_id: str) -> bool:
        """Whether the publisher session ended by itself within the last minute."""
        return bool(await self._redis.exists(self._keys.room_publisher_ended(room_id, session_id)))

    async def release(self, room_id: str, address: str) -> bool:
        """Give the room up if `address` still holds it; True when it did."""
        released = await self._scripts.call(
            "media_release", [self._keys.room_media_owner(room_id)], [address]
        )
        return bool(released)
