"""The products' availability that catalog, line-up and shop answers share."""

from __future__ import annotations

import time
from typing import Any

from live.commerce.bag import BagStore
from live.commerce.inventory import availability


async def with_availability(bag: BagStore, products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Products as answered, each with `available` (and per variant, or the queue)."""
    counts = await bag.counts([p["sku"] for p in products])
    now = int(time.time() * 1000)
    return [availability(p, counts.get(p["sku"], {}), now) for p in products]
