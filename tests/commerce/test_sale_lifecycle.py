"""Holds expire under several workers, scheduled starts and ends happen once, and the room
channel hears sale_open, sold_out, sale_reopened, sale_closed, stock and order events."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import orjson

from live.commerce.worker import SaleWorker
from tests.commerce.helpers import Shop, eventually, open_shop
from tests.conftest import LiveServer


async def room_events(shop: Shop) -> list[dict[str, Any]]:
    history = await shop.svc.redis.xrange(shop.svc.keys.room_history(shop.room_id))
    return [orjson.loads(fields[b"e"]) for _, fields in history]


async def log_entries(shop: Shop, sale_id: str) -> list[dict[str, Any]]:
    log = await shop.svc.redis.xrange(shop.svc.keys.sale_log(shop.room_id, sale_id))
    return [orjson.loads(fields[b"o"]) for _, fields in log]


@contextlib.asynccontextmanager
async def extra_workers(shop: Shop, count: int) -> AsyncIterator[None]:
    """More sale workers beside the server's own, as other processes would run."""
    p = shop.svc
    workers = [
        SaleWorker(p.redis, p.keys, p.scripts, p.sales, p.auctions, p.settings, name=f"extra-{n}")
        for n in range(count)
    ]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for worker, task in zip(workers, tasks, strict=True):
            worker.stop()
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_holds_expire_once_under_several_workers(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=30, per_buyer_limit=1, hold_s=1)
    sale_id = sale["sale_id"]
    async with extra_workers(shop, 2):
        orders = [(await shop.buy(shop.viewer(), sale_id)).json() for _ in range(30)]
        assert (await shop.sale(sale_id))["status"] == "sold_out"
        deadline = max(o["expires_at"] for o in orders)

        async def all_back() -> dict[str, Any] | None:
            current = await shop.sale(sale_id)
            return current if current["left"] == 30 else None

        current = await eventually(all_back, timeout_s=15)
        now_ms = int(float(".".join(map(str, await shop.svc.redis.time()))) * 1000)
        assert (current["held"], current["sold"], current["status"]) == (0, 0, "open")
    # Returned within a second of the deadline (generous on a loaded machine).
    assert now_ms - deadline < 3000
    expired = [e for e in await log_entries(shop, sale_id) if e["status"] == "expired"]
    assert sorted(e["order_id"] for e in expired) == sorted(o["order_id"] for o in orders)
    for order in orders:
        mine = await live_server.as_user(shop.viewer(), "GET", f"/api/orders/{order['order_id']}")
        assert mine.status_code == 403
    types = Counter(e["type"] for e in await room_events(shop))
    assert types["sold_out"] == 1 and types["sale_reopened"] == 1 and types["sale_open"] == 1


async def test_scheduled_start_and_end_happen_once(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    async with extra_workers(shop, 2):
        sale = await shop.new_sale(starts_in_s=1, duration_s=1)
        assert sale["status"] == "scheduled"
        assert sale["ends_at"] - sale["starts_at"] == 1000

        async def opened() -> bool:
            return bool((await shop.sale(sale["sale_id"]))["status"] == "open")

        await eventually(opened)
        assert (await shop.buy(shop.viewer(), sale["sale_id"])).status_code == 201

        async def closed() -> bool:
            return bool((await shop.sale(sale["sale_id"]))["status"] == "closed")

        await eventually(closed)
        await asyncio.sleep(0.5)
    events = [e for e in await room_events(shop) if e.get("sale_id") == sale["sale_id"]]
    assert [e["type"] for e in events] == ["sale_open", "sale_closed"]
    assert events[0]["sale"]["status"] == "open"
    seqs = [e["seq"] for e in await room_events(shop)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_channel_hears_stock_and_personal_order_events(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    pubsub = shop.svc.redis.pubsub()
    await pubsub.ssubscribe(shop.svc.keys.room_channel(shop.room_id))  # sharded
    sale = await shop.new_sale(stock=1, per_buyer_limit=1)
    token = shop.viewer()
    order = (await shop.buy(token, sale["sale_id"])).json()
    await live_server.as_user(token, "POST", f"/api/orders/{order['order_id']}/cancel")
    received: list[dict[str, Any]] = []

    async def heard_all() -> bool:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if message:
            received.append(orjson.loads(message["data"]))
        return len(received) >= 7

    await eventually(heard_all)
    await pubsub.aclose()
    types = [e["type"] for e in received]
    assert types == [
        "sale_open",
        "sold_out",
        "order",
        "stock",
        "sale_reopened",
        "order",
        "stock",
    ]
    assert received[2]["to"] == order["user_id"] and received[2]["order"]["status"] == "held"
    assert received[3] == {**received[3], "left": 0, "held": 1, "sold": 0}
    assert received[5]["order"]["status"] == "cancelled"
    assert received[6] == {**received[6], "left": 1, "held": 0, "sold": 0}
