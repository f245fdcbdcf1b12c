"""Helpers of the auction, waitlist and question tests: a host's room, bids over HTTP,
the room's durable events and Redis's clock."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.commerce.helpers import Shop, open_shop
from tests.conftest import LiveServer


@dataclass
class Auctioneer:
    shop: Shop

    @property
    def server(self) -> LiveServer:
        return self.shop.server

    async def open(self, **fields: Any) -> dict[str, Any]:
        body = {"sku": self.shop.sku, "start_cents": 1000, "duration_s": 60, **fields}
        answer = await self.server.as_user(
            self.shop.host_token, "POST", f"/api/rooms/{self.shop.room_id}/auctions", json=body
        )
        assert answer.status_code == 201, answer.text
        auction: dict[str, Any] = answer.json()
        return auction

    async def bid(
        self,
        token: str,
        auction_id: str,
        amount: int,
        max_cents: int | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"amount_cents": amount}
        if max_cents is not None:
            body["max_cents"] = max_cents
        return await self.server.as_user(
            token,
            "POST",
            f"/api/auctions/{auction_id}/bids",
            json=body,
            headers={"Idempotency-Key": key or secrets.token_hex(8)},
        )

    async def get(self, auction_id: str) -> dict[str, Any]:
        answer = await self.server.http.get(f"/api/auctions/{auction_id}")
        assert answer.status_code == 200, answer.text
        auction: dict[str, Any] = answer.json()
        return auction

    async def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        return await room_events(self.server, self.shop.room_id, kind)


async def room_events(
    server: LiveServer, room_id: str, kind: str | None = None
) -> list[dict[str, Any]]:
    history = await server.parts.redis.xrange(server.parts.keys.room_history(room_id))
    events = [orjson.loads(fields[b"e"]) for _, fields in history]
    return [e for e in events if kind is None or e["type"] == kind]


async def redis_now_ms(server: LiveServer) -> int:
    seconds, micros = await server.parts.redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def open_auctioneer(server: LiveServer) -> Auctioneer:
    return Auctioneer(await open_shop(server))
