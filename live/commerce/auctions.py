"""Auctions in Redis: each bid is one script under the room's tag (lua/auction_bid.lua);
the end is taken once by whichever sweeper gets there first (lua/auction_end.lua)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from live.commerce.auction_rules import (
    AuctionRequest,
    auction_from_hash,
    auction_from_json,
    bid_error,
    bid_fingerprint,
)
from live.commerce.ids import new_auction_id, new_bid_id, new_order_id, room_of
from live.commerce.sales import LOG_GROUP
from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

log = logging.getLogger("live.commerce.auctions")
END_BATCH = 200


@dataclass(frozen=True)
class BidOutcome:
    answer: dict[str, Any]
    created: bool  # False: an earlier attempt with the same key made this bid


class AuctionStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._settings = settings
        self._maxlen = settings.realtime.history_min_events

    def _event_keys(self, room_id: str) -> list[str]:
        k = self._keys
        return [k.room_seq(room_id), k.room_history(room_id), k.room_channel(room_id)]

    async def create(
        self, room_id: str, request: AuctionRequest, product: dict[str, Any]
    ) -> dict[str, Any]:
        """Open an auction of `product` in the room; the sweepers end it."""
        auction_id = new_auction_id(room_id)
        cfg = self._settings.commerce
        fields = {
            "auction_id": auction_id,
            "room_id": room_id,
            "sku": request.sku,
            "variant_id": request.variant_id,
            "title": product["title"],
            "currency": product["currency"],
            "mode": request.mode,
            "start_cents": request.start_cents,
            "reserve_cents": request.reserve_cents,
            "extend_s": request.extend_s,
            "hold_s": cfg.auction_hold_s,
        }
        k = self._keys
        keys = [
            k.auction(room_id, auction_id),
            k.room_auctions(room_id),
            k.room(room_id),
            *self._event_keys(room_id),
        ]
        args = [
            self._maxlen,
            orjson.dumps(fields),
            request.duration_s * 1000,
            cfg.order_retention_s * 1000,
        ]
        async with self._redis.pipeline(transaction=False) as pipe:
            self._scripts.queue(pipe, "auction_create", keys, args)
            pipe.zadd(k.auctions_active(), {auction_id: 0})
            (code, detail), _ = await pipe.execute()
        if code != b"ok":
            await self._redis.zrem(k.auctions_active(), auction_id)
            raise Conflict("the room has ended", code="room_ended")
        return auction_from_json(detail)

    async def get(self, auction_id: str) -> dict[str, Any]:
        room_id = room_of(auction_id, "a")
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.auction(room_id, auction_id))
            pipe.lrange(self._keys.auction_bids(room_id, auction_id), 0, 19)
            data, recent = await pipe.execute()
        if not data:
            raise NotFound(f"auction {auction_id!r} not found")
        auction = auction_from_hash(data)
        auction["recent_bids"] = [orjson.loads(raw) for raw in recent]
        return auction

    async def room_auctions(self, room_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The room's auctions, newest first."""
        ids = await self._redis.zrevrange(self._keys.room_auctions(room_id), 0, limit - 1)
        async with self._redis.pipeline(transaction=False) as pipe:
            for auction_id in ids:
                pipe.hgetall(self._keys.auction(room_id, auction_id.decode()))
            found = await pipe.execute()
        return [auction_from_hash(data) for data in found if data]

    async def bid(
        self,
        auction_id: str,
        user_id: str,
        name: str,
        idempotency_key: str,
        amount: int,
        max_cents: int,
    ) -> BidOutcome:
        """One bid (one round trip); 409 bid_too_low or auction_ended when refused."""
        room_id = room_of(auction_id, "a")
        k = self._keys
        code, detail = await self._scripts.call(
            "auction_bid",
            [
                k.auction(room_id, auction_id),
                k.auction_idempotency(room_id, auction_id),
                k.auction_bids(room_id, auction_id),
                *self._event_keys(room_id),
                k.room(room_id),
            ],
            [
                self._maxlen,
                user_id,
                name,
                idempotency_key,
                bid_fingerprint(amount, max_cents),
                amount,
                max_cents,
                new_bid_id(room_id),
            ],
        )
        if code in (b"created", b"replay"):
            return BidOutcome(orjson.loads(detail), code == b"created")
        raise bid_error(code.decode(), detail.decode())

    async def end_due(self) -> int:
        """End every auction whose time is up (any number of sweepers may run this at
        once: the script ends each auction once). Returns how many ended now."""
        k = self._keys
        ids = [a.decode() for a in await self._redis.zrange(k.auctions_active(), 0, END_BATCH)]
        if not ids:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for auction_id in ids:
                self._queue_end(pipe, auction_id)
            replies = await pipe.execute(raise_on_error=False)
        lots: list[str] = []
        done: list[str] = []
        for auction_id, reply in zip(ids, replies, strict=True):
            if isinstance(reply, Exception):
                log.warning("auction end failed", extra={"auction_id": auction_id})
                continue
            state, detail = reply
            if state == b"ended" and detail:
                lots.append(auction_id)
            if state in (b"ended", b"gone"):
                done.append(auction_id)
        # The won lot's sale record joins the sales the sale workers tend (its hold expires
        # like any order's) before the auction leaves the active set: a crash in between
        # ends nothing twice, it only repeats these two idempotent writes.
        if lots:
            await self._redis.zadd(k.sales_active(), {lot: 0 for lot in lots})
        if done:
            await self._redis.zrem(k.auctions_active(), *done)
        return len(done)

    def _queue_end(self, pipe: Redis, auction_id: str) -> None:
        room_id = room_of(auction_id, "a")
        k = self._keys
        order_id = new_order_id(room_id)
        keys = [
            k.auction(room_id, auction_id),
            k.sale(room_id, auction_id),
            k.sale_holds(room_id, auction_id),
            k.sale_buyers(room_id, auction_id),
            k.sale_log(room_id, auction_id),
            *self._event_keys(room_id),
            k.order(room_id, order_id),
            k.room_order_seq(room_id),
        ]
        args = [
            self._maxlen,
            order_id,
            self._settings.commerce.order_retention_s * 1000,
            LOG_GROUP,
        ]
        self._scripts.queue(pipe, "auction_end", keys, args)
