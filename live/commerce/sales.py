"""Flash sales and orders in Redis: every change is one Lua script under the room's tag."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from live.commerce.ids import new_order_id, new_sale_id, room_of
from live.commerce.rules import (
    SaleRequest,
    buy_fingerprint,
    conversion,
    outcome_error,
    public_order,
    sale_from_hash,
)
from live.errors import NotFound
from live.redisdb.batch import ReplicaWait, ScriptBatcher
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

LOG_GROUP = "orders"
ORDER_WRITES = ("buy", "pay", "cancel")


@dataclass(frozen=True)
class BuyOutcome:
    order: dict[str, Any]
    created: bool  # False: an earlier attempt with the same key took this order


class SaleStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._settings = settings
        self._maxlen = settings.realtime.history_min_events
        # Order writes: batched per event-loop turn, and with `durability = "replicated"`
        # answered once the shard's replicas have them (one WAIT per batch).
        wait = ReplicaWait.of(settings.commerce)
        self._order_writes = {
            name: ScriptBatcher(redis, scripts, name, wait=wait) for name in ORDER_WRITES
        }
        self._buys = self._order_writes["buy"]
        # Remembered per sale, since a flash sale's buys all need the same keys.
        self._buy_keys = functools.lru_cache(maxsize=1000)(self._buy_keys_of)

    def sale_keys(self, room_id: str, sale_id: str) -> list[str]:
        """The seven keys every sale script takes first (see lua/_sale.lua)."""
        k = self._keys
        return [
            k.sale(room_id, sale_id),
            k.sale_holds(room_id, sale_id),
            k.sale_buyers(room_id, sale_id),
            k.sale_log(room_id, sale_id),
            k.room_seq(room_id),
            k.room_history(room_id),
            k.room_channel(room_id),
        ]

    async def create(
        self, room_id: str, request: SaleRequest, product: dict[str, Any]
    ) -> dict[str, Any]:
        """Create a sale of `product` in the room; it is tended by the sale workers."""
        sale_id = new_sale_id(room_id)
        fields = {
            "sale_id": sale_id,
            "room_id": room_id,
            "sku": request.sku,
            "title": product["title"],
            "currency": product["currency"],
            "price_cents": request.price_cents,
            "stock": request.stock,
            "per_buyer_limit": request.per_buyer_limit,
            "hold_s": request.hold_s,
            "offer_s": self._settings.commerce.offer_s,
        }
        retention_ms = self._settings.commerce.order_retention_s * 1000
        async with self._redis.pipeline(transaction=False) as pipe:
            self._scripts.queue(
                pipe,
                "sale_create",
                [
                    *self.sale_keys(room_id, sale_id),
                    self._keys.room_sales(room_id),
                    self._keys.room_order_seq(room_id),
                ],
                [
                    self._maxlen,
                    orjson.dumps(fields),
                    request.starts_in_s * 1000,
                    request.duration_s * 1000,
                    retention_ms,
                    LOG_GROUP,
                ],
            )
            pipe.zadd(self._keys.sales_active(), {sale_id: 0})
            raw, _ = await pipe.execute()
        return sale_from_json(raw)

    async def get(self, sale_id: str) -> dict[str, Any]:
        room_id = room_of(sale_id, "s")
        data = await self._redis.hgetall(self._keys.sale(room_id, sale_id))
        if not data:
            raise NotFound(f"sale {sale_id!r} not found")
        return sale_from_hash(data)

    async def close(self, sale_id: str) -> dict[str, Any]:
        room_id = room_of(sale_id, "s")
        code, detail = await self._scripts.call(
            "sale_close", self.sale_keys(room_id, sale_id), [self._maxlen]
        )
        if code != b"ok":
            raise outcome_error(code.decode())
        return sale_from_json(detail)

    async def room_sales(self, room_id: str) -> list[dict[str, Any]]:
        """The room's sales, newest first."""
        sale_ids = await self._redis.zrevrange(self._keys.room_sales(room_id), 0, 99)
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in sale_ids:
                pipe.hgetall(self._keys.sale(room_id, sale_id.decode()))
            found = await pipe.execute()
        return [sale_from_hash(data) for data in found if data]

    async def close_room_sales(self, room_id: str) -> None:
        for sale in await self.room_sales(room_id):
            if sale["status"] != "closed":
                await self.close(sale["sale_id"])

    async def buy(
        self,
        sale_id: str,
        user_id: str,
        idempotency_key: str,
        qty: int,
        ip: str | None,
        limit_address: str = "",
    ) -> BuyOutcome:
        """Take `qty` units for the buyer (one round trip); `ip` None lifts the per-IP limit;
        `limit_address` (live.commerce.rules.address_limit_key) also counts the per-buyer
        limit per address."""
        room_id, keys, order_seq, order_prefix = self._buy_keys(sale_id)
        order_id = new_order_id(room_id)
        limits = self._settings.limits
        code, detail = await self._buys.call(
            [*keys, order_prefix + order_id, order_seq],
            [
                self._maxlen,
                user_id,
                idempotency_key,
                buy_fingerprint(qty),
                qty,
                order_id,
                order_prefix,
                ip or "",
                limits.buys_per_user_per_s,
                limits.buys_per_ip_per_s,
                limit_address,
            ],
        )
        if code in (b"created", b"replay"):
            return BuyOutcome(public_order(detail), code == b"created")
        raise outcome_error(code.decode(), detail.decode())

    def _buy_keys_of(self, sale_id: str) -> tuple[str, list[str], str, str]:
        """The room, KEYS[1..8] of buy.lua, the room's order counter and its order key
        prefix."""
        room_id = room_of(sale_id, "s")
        k = self._keys
        keys = [*self.sale_keys(room_id, sale_id), k.sale_idempotency(room_id, sale_id)]
        return room_id, keys, k.room_order_seq(room_id), k.order_prefix(room_id)

    async def get_order(self, order_id: str) -> dict[str, Any]:
        room_id = room_of(order_id, "o")
        raw = await self._redis.get(self._keys.order(room_id, order_id))
        if raw is None:
            raise NotFound(f"order {order_id!r} not found")
        return public_order(raw)

    async def pay(self, order: dict[str, Any], payment_id: str) -> dict[str, Any]:
        """Mark the buyer's held order paid (again: the paid order); 409 if it cannot be."""
        return await self._order_script("pay", order, [order["user_id"], payment_id])

    async def cancel(self, order: dict[str, Any], by_user: str | None) -> dict[str, Any]:
        """Cancel a held order; `by_user` None when the room's host or an admin cancels."""
        return await self._order_script("cancel", order, [by_user or ""])

    async def _order_script(
        self, name: str, order: dict[str, Any], args: list[Any]
    ) -> dict[str, Any]:
        room_id, order_id = order["room_id"], order["order_id"]
        code, detail = await self._order_writes[name].call(
            [*self.sale_keys(room_id, order["sale_id"]), self._keys.order(room_id, order_id)],
            [self._maxlen, *args],
        )
        if code != b"ok":
            raise outcome_error(code.decode())
        return public_order(detail)

    # --- the durable order record (written by the order log consumer) -----------------
    async def orders_page(
        self, room_id: str, limit: int, before: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The room's recorded orders, newest first, and the cursor of the next page."""
        upper = f"({before}" if before is not None else "+inf"
        found = await self._redis.zrevrangebyscore(
            self._keys.room_orders(room_id), upper, "-inf", start=0, num=limit + 1, withscores=True
        )
        page = found[:limit]
        if not page:
            return [], None
        raws = await self._redis.hmget(
            self._keys.room_order_records(room_id), [oid for oid, _ in page]
        )
        orders = [public_order(raw) for raw in raws if raw is not None]
        return orders, (int(page[-1][1]) if len(found) > limit else None)

    async def all_orders(self, room_id: str, batch: int = 500) -> AsyncIterator[dict[str, Any]]:
        """Every recorded order of the room, oldest first (for the export)."""
        lower = "-inf"
        while True:
            found = await self._redis.zrangebyscore(
                self._keys.room_orders(room_id), lower, "+inf", start=0, num=batch, withscores=True
            )
            if not found:
                return
            raws = await self._redis.hmget(
                self._keys.room_order_records(room_id), [oid for oid, _ in found]
            )
            for raw in raws:
                if raw is not None:
                    yield public_order(raw)
            lower = f"({int(found[-1][1])}"

    async def stats(self, room_id: str, viewers: int) -> dict[str, Any]:
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.room_order_stats(room_id))
            pipe.scard(k.room_paying_buyers(room_id))
            pipe.get(k.room_peak(room_id))
            totals, buyers, peak = await pipe.execute()
        totals = {name.decode(): int(value) for name, value in totals.items()}
        peak_viewers = max(viewers, int(peak or 0))
        return {
            "viewers": viewers,
            "peak_viewers": peak_viewers,
            "buyers": int(buyers),
            "orders": totals.get("orders", 0),
            "units_sold": totals.get("units_sold", 0),
            "gmv_cents": totals.get("gmv_cents", 0),
            "conversion": conversion(int(buyers), peak_viewers),
            "orders_placed": totals.get("orders_placed", 0),
        }


def sale_from_json(raw: bytes) -> dict[str, Any]:
    sale: dict[str, Any] = orjson.loads(raw)
    sale.setdefault("closed_at", None)
    return sale
