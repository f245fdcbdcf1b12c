"""A thousand buy attempts at once on 100 units: never oversold, never over the limit,
one order per Idempotency-Key, however often it is retried."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from typing import Any

import httpx
import pytest

from live.settings import Settings
from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer, make_settings

LIMIT = 3


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8")


async def test_a_thousand_concurrent_buys_take_exactly_the_stock(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=100, per_buyer_limit=LIMIT)
    rng = random.Random(7)
    attempts: list[tuple[str, str, int]] = []  # (token, key, qty)
    buyers: dict[str, str] = {}
    # 150 buyers with two keys each, every key sent three times (retries)...
    for b in range(150):
        token = shop.viewer(f"b{b}")
        buyers[token] = f"b{b}"
        for k in range(2):
            qty = rng.choice((1, 2))
            attempts += [(token, f"b{b}-k{k}", qty)] * 3
    # ...and 25 greedy buyers asking for more than the limit allows, with four keys.
    for g in range(25):
        token = shop.viewer(f"g{g}")
        buyers[token] = f"g{g}"
        attempts += [(token, f"g{g}-k{k}", 2) for k in range(4)]
    rng.shuffle(attempts)
    assert len(attempts) >= 1000

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=live_server.base_url, limits=limits, timeout=60) as http:

        async def attempt(token: str, key: str, qty: int) -> tuple[str, str, int, Any]:
            answer = await http.post(
                f"/api/sales/{sale['sale_id']}/orders",
                json={"qty": qty},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            )
            return token, key, answer.status_code, answer.json()

        results = await asyncio.gather(*(attempt(*a) for a in attempts))

    assert {status for *_, status, _ in results} <= {200, 201, 409}
    orders_by_key: dict[str, set[str]] = defaultdict(set)
    created_by_key: dict[str, int] = defaultdict(int)
    orders: dict[str, dict[str, Any]] = {}
    for _, key, status, body in results:
        if status in (200, 201):
            orders_by_key[key].add(body["order_id"])
            orders[body["order_id"]] = body
            created_by_key[key] += status == 201
        else:
            assert body["error"]["code"] in ("sold_out", "not_enough_left", "limit_reached")
    assert all(len(ids) == 1 for ids in orders_by_key.values()), "one order per key"
    assert all(n == 1 for n in created_by_key.values()), "one 201 per key"
    assert sum(o["qty"] for o in orders.values()) == 100
    per_buyer: dict[str, int] = defaultdict(int)
    for order in orders.values():
        per_buyer[order["user_id"]] += order["qty"]
    assert max(per_buyer.values()) <= LIMIT
    after = await shop.sale(sale["sale_id"])
    assert (after["left"], after["held"], after["sold"], after["status"]) == (
        0,
        100,
        0,
        "sold_out",
    )
