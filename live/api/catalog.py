"""The catalog endpoints: products by SKU."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from live.api.bagstore import with_availability
from live.api.http import Endpoint, json_response, path_param
from live.auth import require_admin
from live.clock import Clock
from live.commerce.bag import BagStore
from live.commerce.catalog import Catalog
from live.commerce.inventory import parse_inventory
from live.commerce.rules import MAX_PRICE_CENTS
from live.errors import BadRequest
from live.http_input import RequestReader
from live.settings import CatalogSettings
from live.validation import expect_object, int_field, query_limit, text_field

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def parse_sku(value: str) -> str:
    if not SKU_RE.match(value):
        raise BadRequest(
            "`sku` must be 1 to 64 letters, digits, dots, dashes or underscores", field="sku"
        )
    return value


def parse_product(
    body: dict[str, Any], currencies: tuple[str, ...], max_title: int, max_description: int
) -> dict[str, Any]:
    """The product a merchant sent, checked field by field. Pure."""
    sku = parse_sku(text_field(body, "sku", max_len=64))
    currency = text_field(body, "currency", max_len=3, min_len=3).upper()
    if currency not in currencies:
        raise BadRequest(f"`currency` must be one of {', '.join(currencies)}", field="currency")
    image_url = text_field(body, "image_url", max_len=2000, required=False)
    if image_url and not image_url_allowed(image_url):
        raise BadRequest(
            "`image_url` must be an https URL or a path on this server", field="image_url"
        )
    return {
        "sku": sku,
        "title": text_field(body, "title", max_len=max_title),
        "price_cents": int_field(body, "price_cents", low=0, high=MAX_PRICE_CENTS),
        "currency": currency,
        "image_url": image_url or None,
        "description": text_field(
            body, "description", max_len=max_description, required=False, min_len=0
        ),
    }


def image_url_allowed(url: str) -> bool:
    """https URLs and same-origin paths; never `//other.host/...` or plain http (the CSP
    allows images from https: only)."""
    if url.startswith("/"):
        return not url.startswith("//") and "\\" not in url
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


PRODUCT_SCHEMA = {
    "type": "object",
    "required": ["sku", "title", "price_cents", "currency"],
    "properties": {
        "sku": {"type": "string", "pattern": SKU_RE.pattern},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "price_cents": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE_CENTS},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3},
        "image_url": {"type": "string"},
        "description": {"type": "string"},
    },
}


class CatalogApi:
    """The catalog endpoints: products by SKU."""

    def __init__(
        self,
        reader: RequestReader,
        catalog: Catalog,
        bag: BagStore,
        settings: CatalogSettings,
        clock: Clock,
    ) -> None:
        self._reader = reader
        self._catalog = catalog
        self._bag = bag
        self._settings = settings
        self._clock = clock

    async def create_product(self, request: Request) -> Response:
        require_admin(self._reader.identity(request))
        cfg = self._settings
        body = expect_object(await self._reader.read_json(request))
        product = parse_product(
            body,
            cfg.currencies,
            cfg.max_title_len,
            cfg.max_description_len,
        )
        now_ms = self._clock.now_ms()
        product["created_at"] = now_ms
        product.update(parse_inventory(body))
        created = await self._catalog.create(product, now_ms)
        await self._bag.init_product(created)
        (answer,) = await with_availability(self._bag, [created])
        return json_response(answer, 201)

    async def get_product(self, request: Request) -> Response:
        product = await self._catalog.get(parse_sku(path_param(request, "sku")))
        (answer,) = await with_availability(self._bag, [product])
        return json_response(answer)

    async def list_products(self, request: Request) -> Response:
        limit = query_limit(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor") or "0"
        if not cursor.isdigit():
            raise BadRequest("`cursor` is not one this server gave", field="cursor")
        products, next_cursor = await self._catalog.page(limit, int(cursor))
        products = await with_availability(self._bag, products)
        return json_response(
            {"products": products, "next": str(next_cursor) if next_cursor is not None else None}
        )

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/products",
                self.create_product,
                "Add a product to the catalog",
                who="admin",
                body=PRODUCT_SCHEMA,
                responses={201: "the product", 409: "sku_exists"},
            ),
            Endpoint(
                "GET",
                "/api/products",
                self.list_products,
                "List the catalog",
                query=("limit", "cursor"),
                responses={200: "{products, next}"},
            ),
            Endpoint(
                "GET",
                "/api/products/{sku}",
                self.get_product,
                "One product",
                responses={200: "the product", 404: "not_found"},
            ),
        ]
