"""Helpers of the shop tests: a room with a line-up of stocked products, bag checkouts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from live.auth import Identity, Role
from tests.conftest import LiveServer


@dataclass
class ShopRoom:
    server: LiveServer
    room_id: str
    host_token: str
    skus: list[str] = field(default_factory=list)

    def viewer(self, name: str = "Mei") -> str:
        svc = self.server.parts
        identity = Identity(Role.VIEWER, "u_" + secrets.token_hex(6), name)
        return svc.authenticator.issue(identity, ttl_s=3600)

    async def add(self, **fields: Any) -> dict[str, Any]:
        """A new product on the room's line-up."""
        product = await self.server.new_product(**fields)
        answer = await self.server.as_user(
            self.host_token,
            "POST",
            f"/api/rooms/{self.room_id}/products",
            json={"sku": product["sku"]},
        )
        assert answer.status_code == 201, answer.text
        self.skus.append(product["sku"])
        return product

    async def checkout(
        self, token: str, lines: list[dict[str, Any]], key: str | None = None, **extra: Any
    ) -> httpx.Response:
        return await self.server.as_user(
            token,
            "POST",
            f"/api/rooms/{self.room_id}/orders",
            json={"lines": lines, **extra},
            headers={"Idempotency-Key": key or secrets.token_hex(8)},
        )

    async def product(self, sku: str) -> dict[str, Any]:
        answer = await self.server.http.get(f"/api/products/{sku}")
        assert answer.status_code == 200, answer.text
        product: dict[str, Any] = answer.json()
        return product

    async def step(self, token: str, order_id: str, action: str, **body: Any) -> httpx.Response:
        return await self.server.as_user(
            token, "POST", f"/api/orders/{order_id}/{action}", json=body
        )


def check_invariant(product: dict[str, Any]) -> None:
    """stock == available + held + sold, for the product and each variant."""
    rows = product.get("variants") or [product]
    for row in rows:
        assert row["stock"] == row["available"] + row["held"] + row["sold"], row
        assert min(row["available"], row["held"], row["sold"]) >= 0, row


async def open_shop_room(server: LiveServer, **room: Any) -> ShopRoom:
    answer = await server.admin(
        "POST", "/api/rooms", json={"title": "Linen", "host_name": "Lin", **room}
    )
    assert answer.status_code == 201, answer.text
    data = answer.json()
    return ShopRoom(server, data["room_id"], data["host_token"])
