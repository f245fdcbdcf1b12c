"""1,000 concurrent bag checkouts over three products with variants: never oversold, never
half-taken, and every 201 is an order that exists with all its lines."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import Counter
from typing import Any

import httpx
import orjson

from tests.conftest import LiveServer
from tests.shop.helpers import check_invariant, open_shop_room

CHECKOUTS = 1000


def _sizes(stock: int) -> list[dict[str, Any]]:
    return [
        {"variant_id": "s", "label": "S", "stock": stock},
        {"variant_id": "m", "label": "M", "stock": stock},
    ]


async def test_concurrent_checkouts_never_oversell_or_half_take(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    products = [await shop.add(variants=_sizes(60)) for _ in range(3)]
    rng = random.Random(7)
    buyers = [shop.viewer(f"b{i}") for i in range(200)]
    bags = []
    for _ in range(CHECKOUTS):
        chosen = rng.sample(products, rng.randint(1, 3))
        bags.append(
            [
                {"sku": p["sku"], "variant_id": rng.choice("sm"), "qty": rng.randint(1, 2)}
                for p in chosen
            ]
        )
    # Many in flight at once, but no more than the pool has connections: a pool with a
    # thousand waiting requests spends its time deciding who goes next.
    gate = asyncio.Semaphore(48)
    limits = httpx.Limits(max_connections=48, max_keepalive_connections=48)
    async with httpx.AsyncClient(base_url=live_server.base_url, limits=limits, timeout=60) as http:

        async def checkout(i: int) -> httpx.Response:
            async with gate:
                return await post(i)

        async def post(i: int) -> httpx.Response:
            return await http.post(
                f"/api/rooms/{shop.room_id}/orders",
                json={"lines": bags[i]},
                headers={
                    "Authorization": f"Bearer {buyers[i % len(buyers)]}",
                    "Idempotency-Key": secrets.token_hex(8),
                },
            )

        answers = await asyncio.gather(*(checkout(i) for i in range(CHECKOUTS)))
    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] > 0 and statuses[409] > 0, statuses
    held: Counter[tuple[str, str]] = Counter()
    created: list[dict[str, Any]] = []
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "not_enough_left"
            continue
        order = answer.json()
        created.append(order)
        for line in order["lines"]:
            held[(line["sku"], line["variant_id"])] += line["qty"]
    # Every 201 is found, held, with all its lines (read straight from the store).
    svc = live_server.parts
    stored = await svc.redis.mget([svc.keys.order(shop.room_id, o["order_id"]) for o in created])
    for order, raw in zip(created, stored, strict=True):
        assert raw is not None
        found = orjson.loads(raw)
        assert found["status"] == "held" and len(found["lines"]) == len(order["lines"])
    for product in products:
        now = await shop.product(product["sku"])
        check_invariant(now)
        for variant in now["variants"]:
            # Held units are exactly those of the 201 orders: none oversold, none half-taken.
            assert variant["held"] == held[(product["sku"], variant["variant_id"])], variant
            assert variant["sold"] == 0 and variant["available"] >= 0
