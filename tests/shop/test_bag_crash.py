"""A checkout whose process dies between reserving and committing: the sweeper gives the
units back, and the half-done checkout can never appear as an order."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from live.app import create_app
from live.commerce.bag import BagStore
from live.commerce.inventory import LineRequest, parse_inventory, priced_lines
from live.redisdb.client import Redis
from live.rooms.model import Room
from tests.conftest import make_settings
from tests.redis_server import TestRedis

ROOM = "r_crash"


class CrashBeforeCommit(Exception):
    pass


async def test_a_crash_mid_checkout_is_undone_by_the_sweeper(
    redis: Redis, redis_server: TestRedis
) -> None:
    svc = create_app(make_settings(), redis_server.url).parts
    bag = svc.bag
    await svc.rooms.create(Room(ROOM, "t", "h", "h_1", "open", False, svc.clock.now_ms()))
    products: dict[str, dict[str, Any]] = {}
    for sku in ("a", "b"):
        products[sku] = {
            "sku": sku,
            "title": sku,
            "price_cents": 100,
            "currency": "EUR",
            **parse_inventory({"stock": 3}),
        }
        await svc.catalog.create(dict(products[sku]), svc.clock.now_ms())
        await bag.init_product(products[sku])
        await svc.rooms.add_to_lineup(ROOM, sku, svc.clock.now_ms(), orjson.dumps(products[sku]))
    requests = [LineRequest("a", None, 2), LineRequest("b", None, 1)]
    lines = priced_lines(requests, products)

    def dying_commit(keys: list[str], args: list[Any]) -> Any:
        raise CrashBeforeCommit

    bag.steps.commit = dying_commit  # type: ignore[method-assign]
    with pytest.raises(CrashBeforeCommit):
        await bag.checkout(ROOM, "u_1", "k1", requests, lines, "EUR", None)
    del bag.steps.commit
    counts = await bag.counts(["a", "b"])
    assert (counts["a"]["_"]["held"], counts["b"]["_"]["held"]) == (2, 1)  # taken, no order

    # Before the intent's deadline the sweeper leaves it; after it, the units come back.
    await bag.sweep(ROOM)
    assert (await bag.counts(["a"]))["a"]["_"]["held"] == 2
    await _age_intents(bag, redis)
    await bag.sweep(ROOM)
    counts = await bag.counts(["a", "b"])
    for sku in ("a", "b"):
        c = counts[sku]["_"]
        assert (c["available"], c["held"], c["sold"]) == (3, 0, 0)
    assert await redis.zcard(svc.keys.room_orders(ROOM)) == 0
    # The same key checks out afresh, whole.
    outcome = await bag.checkout(ROOM, "u_1", "k1", requests, lines, "EUR", None)
    assert outcome.created and len(outcome.order["lines"]) == 2


async def _age_intents(bag: BagStore, redis: Redis) -> None:
    due = bag.shop_keys.bag_journal_due(ROOM)
    for field in await redis.zrange(due, 0, -1):
        await redis.zadd(due, {field: 0})
