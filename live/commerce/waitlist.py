"""Waitlists of sold-out sales in Redis: join, leave and position, each one script under
the room's tag. Offers are made by the sale scripts when units come back (lua/_sale.lua
`return_units`), and bought with the usual buy."""

from __future__ import annotations

from dataclasses import dataclass

from live.commerce.ids import room_of
from live.commerce.sales import SaleStore
from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

_REFUSALS = {
    "sale_not_open": "the sale is not open",
    "not_sold_out": "units are left: buy one instead",
    "limit_reached": "you already hold or bought as many units as the sale allows",
}


@dataclass(frozen=True)
class Place:
    """Where a buyer stands: in line (`position` from 1), or with a unit kept for them."""

    position: int | None
    waiting: int
    offer_expires_at: int | None = None
    joined_now: bool = False

    def to_public(self) -> dict[str, int | None]:
        return {
            "position": self.position,
            "waiting": self.waiting,
            "offer_expires_at": self.offer_expires_at,
        }


class WaitlistStore:
    def __init__(
        self, redis: Redis, keys: Keys, scripts: Scripts, sales: SaleStore, settings: Settings
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._sales = sales
        self._maxlen = settings.realtime.history_min_events

    async def join(self, sale_id: str, user_id: str) -> Place:
        """Join the sold-out sale's waitlist (again: the same place); 409 when it cannot."""
        room_id = room_of(sale_id, "s")
        before = await self.place(sale_id, user_id)
        reply = await self._scripts.call(
            "waitlist_join", self._sales.sale_keys(room_id, sale_id), [self._maxlen, user_id]
        )
        code = reply[0].decode()
        if code == "ok":
            return Place(int(reply[1]), int(reply[2]), joined_now=before.position is None)
        if code == "offered":
            raise Conflict(
                "a unit is already kept for you: buy it",
                code="already_offered",
                offer_expires_at=int(reply[1]),
            )
        if code in _REFUSALS:
            raise Conflict(_REFUSALS[code], code=code)
        raise NotFound(f"sale {sale_id!r} not found")

    async def leave(self, sale_id: str, user_id: str) -> bool:
        """Leave the waitlist (declining a kept unit too); False when not on it."""
        room_id = room_of(sale_id, "s")
        reply = await self._scripts.call(
            "waitlist_leave", self._sales.sale_keys(room_id, sale_id), [self._maxlen, user_id]
        )
        if reply[0] != b"ok":
            raise NotFound(f"sale {sale_id!r} not found")
        return bool(int(reply[1]))

    async def place(self, sale_id: str, user_id: str) -> Place:
        room_id = room_of(sale_id, "s")
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrank(k.sale_waitlist(room_id, sale_id), user_id)
            pipe.zcard(k.sale_waitlist(room_id, sale_id))
            pipe.zscore(k.sale_offers(room_id, sale_id), user_id)
            rank, waiting, deadline = await pipe.execute()
        return Place(
            None if rank is None else int(rank) + 1,
            int(waiting),
            None if deadline is None else int(deadline),
        )
