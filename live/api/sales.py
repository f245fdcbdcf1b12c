"""Flash sales: create, read, close, and buy (the hot path: one Redis round trip)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.catalog import parse_sku
from live.api.http import Endpoint, json_response, path_param
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.commerce.buying import Buying
from live.commerce.catalog import Catalog
from live.commerce.ids import room_of
from live.commerce.rules import MAX_PER_BUYER, MAX_PRICE_CENTS, parse_sale_request
from live.commerce.sales import SaleStore
from live.errors import Conflict
from live.http_input import RequestReader
from live.rooms.store import RoomStore
from live.settings import CommerceSettings
from live.validation import expect_object

# The buy handler's name: the route the access log and metrics name (both HTTP paths).
BUY_ROUTE = "buy"


class SalesApi:
    def __init__(
        self,
        reader: RequestReader,
        rooms: RoomStore,
        catalog: Catalog,
        sales: SaleStore,
        buying: Buying,
        settings: CommerceSettings,
    ) -> None:
        self._reader = reader
        self._rooms = rooms
        self._catalog = catalog
        self._sales = sales
        self._buying = buying
        self._settings = settings

    async def create_sale(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        body = expect_object(await self._reader.read_json(request))
        sale_request = parse_sale_request(body, self._settings)
        parse_sku(sale_request.sku)
        await self._rooms.get_open(room_id)
        product = await self._catalog.get(sale_request.sku)
        # A host may only sell what the room shows (a host token must not sell any SKU).
        if not await self._rooms.in_lineup(room_id, sale_request.sku):
            raise Conflict("add the product to the room's line-up first", code="not_in_lineup")
        return json_response(await self._sales.create(room_id, sale_request, product), 201)

    async def get_sale(self, request: Request) -> Response:
        return json_response(await self._sales.get(path_param(request, "sale_id")))

    async def close_sale(self, request: Request) -> Response:
        sale_id = path_param(request, "sale_id")
        require_manager(self._reader.identity(request), room_of(sale_id, "s"))
        return json_response(await self._sales.close(sale_id))

    async def buy(self, request: Request) -> Response:
        """The routed buy (the fast path, live/api/fastbuy.py, answers most buys)."""
        order, status = await self._buying.place_order(
            path_param(request, "sale_id"),
            request.headers.get("authorization"),
            request.headers.get("idempotency-key"),
            lambda: self._reader.read_json(request),
            self._reader.client_ip(request),
        )
        return json_response(order, status)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/sales",
                self.create_sale,
                "Start (or schedule) a flash sale of one SKU in the room",
                who="host, admin",
                body=SALE_SCHEMA,
                responses={201: "the sale", 404: "not_found", 409: "room_ended, not_in_lineup"},
            ),
            Endpoint(
                "GET",
                "/api/sales/{sale_id}",
                self.get_sale,
                "One sale with its stock: left, held, sold",
                responses={200: "the sale", 404: "not_found"},
            ),
            Endpoint(
                "POST",
                "/api/sales/{sale_id}/close",
                self.close_sale,
                "Close the sale now",
                who="host, admin",
                responses={200: "the sale", 404: "not_found"},
            ),
            Endpoint(
                "POST",
                "/api/sales/{sale_id}/orders",
                self.buy,
                "Buy: hold `qty` units (header Idempotency-Key required)",
                who="viewer",
                body={
                    "type": "object",
                    "required": ["qty"],
                    "properties": {"qty": {"type": "integer", "minimum": 1}},
                },
                responses={
                    201: "the new order (held)",
                    200: "the order this Idempotency-Key already took",
                    400: "bad_request",
                    409: "sold_out, not_enough_left, limit_reached, sale_not_open",
                    422: "idempotency_mismatch",
                    429: "rate_limited",
                    503: "unavailable",
                },
            ),
        ]


SALE_SCHEMA = {
    "type": "object",
    "required": ["sku", "stock", "price_cents", "per_buyer_limit", "hold_s", "duration_s"],
    "properties": {
        "sku": {"type": "string"},
        "stock": {"type": "integer", "minimum": 1},
        "price_cents": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE_CENTS},
        "per_buyer_limit": {"type": "integer", "minimum": 1, "maximum": MAX_PER_BUYER},
        "hold_s": {"type": "integer", "minimum": 1},
        "duration_s": {"type": "integer", "minimum": 1},
        "starts_in_s": {"type": "integer", "minimum": 0},
    },
}
