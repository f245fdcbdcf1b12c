"""The catalog: products by SKU, stored as JSON documents in Redis."""

from __future__ import annotations

from typing import Any

import orjson

from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.keys import Keys

Product = dict[str, Any]


class Catalog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def create(self, product: Product, now_ms: int) -> Product:
        """Store a new product; 409 `sku_exists` if the SKU is taken."""
        sku = product["sku"]
        created = await self._redis.set(self._keys.product(sku), orjson.dumps(product), nx=True)
        if not created:
            raise Conflict(f"a product with sku {sku!r} exists", code="sku_exists")
        # The index is another slot than the product on a cluster: its own call.
        await self._redis.zadd(self._keys.products_index(), {sku: now_ms}, nx=True)
        return product

    async def get(self, sku: str) -> Product:
        raw = await self._redis.get(self._keys.product(sku))
        if raw is None:
            raise NotFound(f"product {sku!r} not found")
        product: Product = orjson.loads(raw)
        return product

    async def many(self, skus: list[str]) -> list[Product]:
        """The products for `skus`, in order; unknown SKUs are left out."""
        if not skus:
            return []
        # Not MGET: the products live in many slots on a cluster.
        async with self._redis.pipeline(transaction=False) as pipe:
            for sku in skus:
                pipe.get(self._keys.product(sku))
            raws = await pipe.execute()
        return [orjson.loads(raw) for raw in raws if raw is not None]

    async def page(self, limit: int, offset: int) -> tuple[list[Product], int | None]:
        skus = await self._redis.zrange(self._keys.products_index(), offset, offset + limit)
        products = await self.many([s.decode() for s in skus[:limit]])
        return products, (offset + limit if len(skus) > limit else None)
