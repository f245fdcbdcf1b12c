"""Where the shop's store is built from the wiring, once per process, and the products'
availability that catalog and line-up answers share."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import HTTPConnection

from live.api.http import services
from live.commerce.bag import BagStore
from live.commerce.inventory import availability
from live.services import Services


def bag_of(conn: HTTPConnection) -> BagStore:
    """The process's shop store (built on first use from the services)."""
    state = conn.app.state
    store: BagStore | None = getattr(state, "bag_store", None)
    if store is None:
        store = build_bag_store(services(conn))
        state.bag_store = store
    return store


def build_bag_store(svc: Services) -> BagStore:
    """The one place a BagStore is made from the services."""
    return BagStore(svc.redis, svc.keys, svc.scripts, svc.settings.commerce, svc.now_ms)


async def with_availability(bag: BagStore, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Products as answered, each with `available` (and per variant, or the queue)."""
    counts = await bag.counts([p["sku"] for p in products])
    now = int(time.time() * 1000)
    return [availability(p, counts.get(p["sku"], {}), now) for p in products]
