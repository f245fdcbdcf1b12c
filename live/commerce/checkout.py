"""The bag checkout use case: from a request's parts to a held bag order.

Both HTTP paths to it, the fast path (live/api/fastbuy.py) and Starlette's routed handler
(live/api/shop.py `ShopApi.checkout`), call `BagCheckout.place_order`, so they check the
same things in the same order and answer the same errors.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from live.auth import require_buyer
from live.authenticator import Authenticator
from live.commerce.aftersale import parse_shipping
from live.commerce.bag import BagStore
from live.commerce.catalog import Catalog
from live.commerce.inventory import parse_lines, priced_lines, variant_keys
from live.commerce.rules import parse_idempotency_key
from live.errors import Conflict, NotFound
from live.http_input import bearer_of
from live.rooms.model import ROOM_ID_RE
from live.settings import Settings
from live.validation import expect_object

# A product's title, prices and variants are kept this long in the process: a checkout
# reads the same few products over and over (its units live in Redis, read every time).
PRODUCT_CACHE_S = 5.0
MAX_CACHED_PRODUCTS = 10_000


class BagCheckout:
    def __init__(
        self, bag: BagStore, catalog: Catalog, authenticator: Authenticator, settings: Settings
    ) -> None:
        self._bag = bag
        self._catalog = catalog
        self._auth = authenticator
        self._anonymous_can_buy = settings.auth.anonymous_can_buy
        self._products: dict[str, tuple[float, dict[str, Any]]] = {}

    async def place_order(
        self,
        room_id: str,
        authorization: str | None,
        idempotency_key: str | None,
        read_body: Callable[[], Awaitable[Any]],
    ) -> tuple[dict[str, Any], int]:
        """The order and its status (201, or 200 for a replay of the same key)."""
        token = bearer_of(authorization)
        identity = require_buyer(
            self._auth.verify(token) if token is not None else None,
            anonymous_can_buy=self._anonymous_can_buy,
        )
        if not ROOM_ID_RE.match(room_id):
            raise NotFound("room not found")
        key = parse_idempotency_key(idempotency_key)
        body = expect_object(await read_body())
        requests = parse_lines(body)
        shipping = parse_shipping(body["shipping"]) if body.get("shipping") is not None else None
        found = await self.products(list({r.sku for r in requests}))
        for index, req in enumerate(requests):
            if req.sku not in found:
                raise Conflict(
                    "that product is not on this room's line-up",
                    code="not_in_lineup",
                    field=f"lines[{index}]",
                )
        lines = priced_lines(requests, found)
        currency = found[requests[0].sku]["currency"]
        stock_keys = {sku: variant_keys(product) for sku, product in found.items()}
        outcome = await self._bag.checkout(
            room_id, identity.user_id, key, requests, lines, currency, shipping, stock_keys
        )
        return outcome.order, 201 if outcome.created else 200

    async def products(self, skus: list[str]) -> dict[str, dict[str, Any]]:
        """The catalog's documents of `skus` (unknown ones left out), kept briefly."""
        now = time.monotonic()
        found = {}
        missing = []
        for sku in skus:
            cached = self._products.get(sku)
            if cached is not None and cached[0] > now:
                found[sku] = cached[1]
            else:
                missing.append(sku)
        if missing:
            if len(self._products) > MAX_CACHED_PRODUCTS:
                self._products.clear()
            for product in await self._catalog.many(missing):
                found[product["sku"]] = product
                self._products[product["sku"]] = (now + PRODUCT_CACHE_S, product)
        return found
