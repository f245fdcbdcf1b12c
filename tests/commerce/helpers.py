"""Helpers of the sale tests: a room with a product, viewers, buying over HTTP."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from live.app import Parts
from live.auth import Identity, Role
from live.redisdb.client import Redis
from tests.conftest import LiveServer

# The two HTTP paths to a buy, for tests parametrized over both (as uvicorn's tests are
# over its implementations): the fast path in front of Starlette, and Starlette's routing.
BUY_PATHS = [
    pytest.param({"fast_buy": True}, id="fast-path"),
    pytest.param({"fast_buy": False}, id="routed"),
]


@dataclass
class Shop:
    server: LiveServer
    room_id: str
    host_token: str
    sku: str

    @property
    def svc(self) -> Parts:
        return self.server.parts

    async def new_sale(self, **fields: Any) -> dict[str, Any]:
        body = {
            "sku": self.sku,
            "stock": 10,
            "price_cents": 19900,
            "per_buyer_limit": 2,
            "hold_s": 60,
            "duration_s": 600,
            **fields,
        }
        answer = await self.server.as_user(
            self.host_token, "POST", f"/api/rooms/{self.room_id}/sales", json=body
        )
        assert answer.status_code == 201, answer.text
        sale: dict[str, Any] = answer.json()
        return sale

    def viewer(self, name: str = "Mei") -> str:
        """A viewer token signed by the server (as POST /api/sessions gives)."""
        identity = Identity(Role.VIEWER, "u_" + secrets.token_hex(6), name)
        return self.svc.authenticator.signer.issue(identity, ttl_s=3600, now=self.svc.clock.now())

    async def buy(
        self, token: str, sale_id: str, qty: int = 1, key: str | None = None
    ) -> httpx.Response:
        return await self.server.as_user(
            token,
            "POST",
            f"/api/sales/{sale_id}/orders",
            json={"qty": qty},
            headers={"Idempotency-Key": key or secrets.token_hex(8)},
        )

    async def sale(self, sale_id: str) -> dict[str, Any]:
        answer = await self.server.http.get(f"/api/sales/{sale_id}")
        assert answer.status_code == 200, answer.text
        sale: dict[str, Any] = answer.json()
        assert sale["stock"] == sale["left"] + sale["held"] + sale["sold"]
        return sale


async def open_shop(server: LiveServer) -> Shop:
    """A room with one product on its line-up (sales only sell line-up products)."""
    room = await server.new_room()
    product = await server.new_product()
    lineup = await server.as_user(
        room["host_token"], "POST", f"/api/rooms/{room['room_id']}/products", json=product
    )
    assert lineup.status_code == 201, lineup.text
    return Shop(server, room["room_id"], room["host_token"], product["sku"])


async def redis_clock_passes(redis: Redis, at_ms: int, timeout_s: float = 10.0) -> None:
    """Return once Redis's clock (the clock of every sale deadline) is past `at_ms`."""

    async def passed() -> bool:
        seconds, micros = await redis.time()
        return bool(seconds * 1000 + micros // 1000 > at_ms)

    await eventually(passed, timeout_s)


async def order_status(server: LiveServer, token: str, order_id: str) -> str:
    answer = await server.as_user(token, "GET", f"/api/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["status"]
    return status


async def eventually(check: Any, timeout_s: float = 10.0) -> Any:
    """Poll `check()` (async) until it answers something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
