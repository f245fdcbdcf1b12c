"""The order log feeds the room's durable order record: listing, export, stats; entries a
dead consumer read are reclaimed by another."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from live.app import Parts, create_app
from live.commerce.sales import LOG_GROUP
from live.commerce.worker import SaleWorker
from live.rooms.model import Room
from live.settings import Settings
from tests.commerce.helpers import eventually, open_shop
from tests.conftest import LiveServer, make_settings
from tests.redis_server import TestRedis


async def test_orders_listing_export_and_stats(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=10, per_buyer_limit=3, price_cents=1000)
    alice, bob = shop.viewer("Alice"), shop.viewer("Bob")
    taken = [
        (await shop.buy(t, sale["sale_id"], qty=q)).json()
        for t, q in ((alice, 2), (bob, 1), (alice, 1), (bob, 2))
    ]
    for order, token in ((taken[0], alice), (taken[1], bob), (taken[3], bob)):
        paid = await live_server.as_user(token, "POST", f"/api/orders/{order['order_id']}/pay")
        assert paid.status_code == 200
    await live_server.as_user(alice, "POST", f"/api/orders/{taken[2]['order_id']}/cancel")
    base = f"/api/rooms/{shop.room_id}"

    async def recorded() -> dict[str, Any] | None:
        stats = (await live_server.as_user(shop.host_token, "GET", base + "/stats")).json()
        return stats if stats["units_sold"] == 5 and stats["orders_placed"] == 4 else None

    stats = await eventually(recorded)
    assert stats == {
        **stats,
        "buyers": 2,
        "orders": 3,
        "gmv_cents": 5000,
        "viewers": 0,
        "peak_viewers": 0,
        "conversion": 0.0,
    }
    await shop.svc.redis.set(shop.svc.keys.room_peak(shop.room_id), 8)
    stats = (await live_server.as_user(shop.host_token, "GET", base + "/stats")).json()
    assert (stats["peak_viewers"], stats["conversion"]) == (8, 0.25)

    async def cancel_recorded() -> dict[str, Any] | None:
        # The cancel reaches the order record through the sale log, like every change.
        page = (await live_server.as_user(shop.host_token, "GET", base + "/orders?limit=3")).json()
        statuses = {o["order_id"]: o["status"] for o in page["orders"]}
        return page if statuses.get(taken[2]["order_id"]) == "cancelled" else None

    page = await eventually(cancel_recorded)
    newest_first = [o["order_id"] for o in reversed(taken)]
    assert [o["order_id"] for o in page["orders"]] == newest_first[:3]
    assert page["orders"][1]["status"] == "cancelled"
    rest = await live_server.as_user(
        shop.host_token, "GET", base + f"/orders?limit=3&cursor={page['next']}"
    )
    assert [o["order_id"] for o in rest.json()["orders"]] == newest_first[3:]
    assert rest.json()["next"] is None

    viewer = await live_server.as_user(alice, "GET", base + "/orders")
    assert viewer.status_code == 403

    exported = await live_server.as_user(shop.host_token, "GET", base + "/orders/export")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["order_id"] for r in rows] == [o["order_id"] for o in taken]
    assert [r["status"] for r in rows] == ["paid", "paid", "cancelled", "paid"]
    lines = await live_server.as_user(shop.host_token, "GET", base + "/orders/export?format=jsonl")
    records = [orjson.loads(line) for line in lines.text.splitlines()]
    assert [r["qty"] for r in records] == [2, 1, 1, 2]


@pytest.fixture
async def quiet_svc(redis_server: TestRedis) -> AsyncIterator[Parts]:
    """A server's parts, not started (no worker running), and abandoned entries claimable
    after 300 ms."""
    settings: Settings = make_settings(LIVE_COMMERCE_LOG_CLAIM_IDLE_MS="300")
    parts = create_app(settings, redis_server.url).parts
    yield parts
    await parts.redis.aclose()


async def test_entries_of_a_dead_consumer_are_reclaimed(quiet_svc: Parts) -> None:
    svc = quiet_svc
    room = await svc.rooms.create(
        Room("r_dead1", "t", "h", "h_1", "open", False, svc.clock.now_ms())
    )
    product = {"sku": "mug", "title": "Mug", "price_cents": 500, "currency": "EUR"}
    from live.commerce.rules import parse_sale_request

    request = parse_sale_request(
        {
            "sku": "mug",
            "stock": 5,
            "price_cents": 500,
            "per_buyer_limit": 5,
            "hold_s": 60,
            "duration_s": 60,
        },
        svc.settings.commerce,
    )
    sale = await svc.sales.create(room.room_id, request, product)
    for n in range(3):
        await svc.sales.buy(sale["sale_id"], f"u_{n}", f"k{n}", 1, None)
    log_key = svc.keys.sale_log(room.room_id, sale["sale_id"])
    # A worker reads the entries and dies before writing them.
    taken = await svc.redis.xreadgroup(LOG_GROUP, "dead", {log_key: ">"}, count=10)
    assert len(taken[0][1]) == 3
    alive = SaleWorker(
        svc.redis, svc.keys, svc.scripts, svc.sales, svc.auctions, svc.settings, name="alive"
    )
    assert await alive.record([sale["sale_id"]]) == 0

    async def reclaimed() -> bool:
        return await alive.record([sale["sale_id"]], claim=True) == 3

    await eventually(reclaimed)
    records = await svc.redis.hlen(svc.keys.room_order_records(room.room_id))
    assert records == 3
    pending = await svc.redis.xpending(log_key, LOG_GROUP)
    assert pending["pending"] == 0
    # Redelivered entries change nothing twice.
    await alive.record([sale["sale_id"]], claim=True)
    stats = await svc.sales.stats(room.room_id, 0)
    assert stats["orders_placed"] == 3
