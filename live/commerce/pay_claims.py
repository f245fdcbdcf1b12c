"""One provider charge per order, however many `pay` calls race (issue 19, finding 8).

The call that claims the order's payment in Redis (`SET NX PX`, one key in the order's
slot) calls the provider; the others wait for its outcome instead of charging again.
"""

from __future__ import annotations

from typing import Any

from live.redisdb.client import Redis
from live.redisdb.keys import Keys

# A claim outlives any provider call; one whose holder died lapses by itself.
PAY_CLAIM_MS = 60_000


class PayClaims:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, order: dict[str, Any]) -> str:
        return self._keys.order(order["room_id"], order["order_id"]) + ":pay_claim"

    async def claim(self, order: dict[str, Any]) -> bool:
        """True for the one caller that may charge the order now."""
        return bool(await self._redis.set(self._key(order), "1", nx=True, px=PAY_CLAIM_MS))

    async def release(self, order: dict[str, Any]) -> None:
        """The charge failed or was declined: another `pay` may try."""
        await self._redis.delete(self._key(order))
