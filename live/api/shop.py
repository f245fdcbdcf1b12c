"""The shop's endpoints: stock, the bag checkout, shipping, after-sale steps, the buyer's
orders and the host's figures (docs/protocol.md, "The shop")."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from live.api.bagstore import with_availability
from live.api.catalog import parse_sku
from live.api.http import Endpoint, json_response, path_param
from live.auth import Role, require_user
from live.clock import Clock
from live.commerce.aftersale import check_actor, decide
from live.commerce.bag import BagStore
from live.commerce.catalog import Catalog
from live.commerce.checkout import BagCheckout
from live.commerce.figures import host_figures
from live.commerce.inventory import MAX_STOCK, NO_VARIANT
from live.commerce.payments import PaymentProvider
from live.commerce.sales import SaleStore
from live.errors import BadRequest, Forbidden, NotFound
from live.http_input import RequestReader
from live.settings import Settings
from live.validation import expect_object, int_field, query_limit

HOST_ID_MAX = 40


class ShopApi:
    """HTTP handlers of the shop, with the stores and settings they use."""

    def __init__(
        self,
        reader: RequestReader,
        bag: BagStore,
        catalog: Catalog,
        checkout: BagCheckout,
        sales: SaleStore,
        payments: PaymentProvider,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._reader = reader
        self._bag = bag
        self._catalog = catalog
        self._checkout = checkout
        self._sales = sales
        self._payments = payments
        self._settings = settings
        self._clock = clock

    async def set_stock(self, request: Request) -> Response:
        """Restock: the admin, or the host of a room whose line-up shows the product (the
        studio's restock control)."""
        identity = require_user(self._reader.identity(request))
        sku = parse_sku(path_param(request, "sku"))
        if identity.role is not Role.ADMIN:
            room_id = identity.room_id if identity.role is Role.HOST else None
            if room_id is None or not await self._bag.shown_in(room_id, sku):
                raise Forbidden(
                    "only an admin, or the host of a room showing this product, may restock it"
                )
        body = expect_object(await self._reader.read_json(request))
        stock = int_field(body, "stock", low=0, high=MAX_STOCK)
        product = await self._catalog.get(sku)
        if product.get("made_to_order"):
            raise BadRequest("a made-to-order product has no stock", field="stock")
        variant = body.get("variant_id")
        ids = [v["variant_id"] for v in product.get("variants") or []]
        if ids and variant not in ids:
            raise BadRequest(
                "`variant_id` must name one of the product's variants", field="variant_id"
            )
        if not ids and variant is not None:
            raise BadRequest("this product has no variants", field="variant_id")
        bag = self._bag
        await bag.set_stock(product, str(variant) if variant else NO_VARIANT, stock)
        (answer,) = await with_availability(bag, [product])
        return json_response(answer)

    async def checkout(self, request: Request) -> Response:
        """The routed path of a checkout (the fast path, live/api/fastbuy.py, answers most)."""

        async def read_body() -> Any:
            return await self._reader.read_json(request)

        order, status = await self._checkout.place_order(
            path_param(request, "room_id"),
            request.headers.get("authorization"),
            request.headers.get("idempotency-key"),
            read_body,
        )
        return json_response(order, status)

    async def set_shipping(self, request: Request) -> Response:
        order = await self._step(request, "shipping")
        return json_response(order)

    async def ship(self, request: Request) -> Response:
        return json_response(await self._step(request, "ship"))

    async def deliver(self, request: Request) -> Response:
        return json_response(await self._step(request, "deliver"))

    async def request_return(self, request: Request) -> Response:
        return json_response(await self._step(request, "return"))

    async def refund(self, request: Request) -> Response:
        order = await self._step(request, "refund")
        if order.get("payment_id"):
            await self._payments.refund(order["payment_id"], order)
        return json_response(order)

    async def _step(self, request: Request, action: str) -> dict[str, Any]:
        identity = require_user(self._reader.identity(request))
        order_id = path_param(request, "order_id")
        order = await self._sales.get_order(order_id)
        staff = identity.may_manage(order["room_id"])
        if order["user_id"] != identity.user_id and not staff:
            raise Forbidden("only its buyer, the room's host or an admin may see this order")
        check_actor(order, action, identity.user_id, staff)
        raw = await self._reader.read_json(request) if await _has_body(request) else {}
        params = expect_object(raw)
        decision = decide(
            order,
            action,
            params,
            now_ms=self._clock.now_ms(),
            return_days=self._settings.commerce.return_days,
        )
        return await self._bag.apply(order, decision)

    async def my_orders(self, request: Request) -> Response:
        identity = require_user(self._reader.identity(request))
        limit = query_limit(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor") or None
        if cursor is not None and not cursor.isdigit():
            raise BadRequest("`cursor` is not one this server gave", field="cursor")
        orders, next_cursor = await self._bag.my_orders(
            identity.user_id, limit, int(cursor) if cursor else None
        )
        return json_response(
            {"orders": orders, "next": str(next_cursor) if next_cursor is not None else None}
        )

    async def host_stats(self, request: Request) -> Response:
        host_id = path_param(request, "host_id")
        if len(host_id) > HOST_ID_MAX:
            raise NotFound("host not found")
        identity = require_user(self._reader.identity(request))
        rooms = await self._bag.host_room_totals(host_id)
        if identity.role is not Role.ADMIN:
            mine = identity.role is Role.HOST and any(r.room_id == identity.room_id for r in rooms)
            if not mine:
                raise Forbidden("only an admin or a host of these shows may see this")
        return json_response({"host_id": host_id, **host_figures(rooms)})

    def endpoints(self) -> list[Endpoint]:
        order_responses = {
            200: "the order",
            403: "forbidden",
            404: "not_found",
            409: "bad_transition",
        }
        return [
            Endpoint(
                "PUT",
                "/api/products/{sku}/stock",
                self.set_stock,
                "Set a product's (or one variant's) units on hand",
                who="admin, the host of a room showing the product",
                body={
                    "type": "object",
                    "required": ["stock"],
                    "properties": {
                        "stock": {"type": "integer", "minimum": 0},
                        "variant_id": {"type": "string"},
                    },
                },
                responses={200: "the product", 403: "forbidden", 409: "stock_below_held"},
            ),
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/orders",
                self.checkout,
                "Check out a bag of line-up products (header Idempotency-Key required)",
                who="viewer",
                body={
                    "type": "object",
                    "required": ["lines"],
                    "properties": {"lines": {"type": "array"}, "shipping": {"type": "object"}},
                },
                responses={
                    201: "the new order (held)",
                    200: "the order this Idempotency-Key already took",
                    400: "bad_request, mixed_currency",
                    409: "not_in_lineup, not_enough_left, room_ended",
                    422: "idempotency_mismatch",
                },
            ),
            Endpoint(
                "PUT",
                "/api/orders/{order_id}/shipping",
                self.set_shipping,
                "Set the shipping address of a held order",
                who="its buyer",
                responses=order_responses,
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/ship",
                self.ship,
                "Ship a paid order (carrier, tracking)",
                who="host, admin",
                responses=order_responses,
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/deliver",
                self.deliver,
                "Mark a shipped order delivered",
                who="host, admin",
                responses=order_responses,
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/return",
                self.request_return,
                "Ask to return an order (within return_days of payment)",
                who="its buyer",
                responses=order_responses,
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/refund",
                self.refund,
                "Refund an order, whole or some lines, optionally restocking",
                who="host, admin",
                responses=order_responses,
            ),
            Endpoint(
                "GET",
                "/api/me/orders",
                self.my_orders,
                "The caller's own orders (bag, sale, auction, waitlist), newest first",
                who="viewer",
                query=("limit", "cursor"),
                responses={200: "{orders, next}"},
            ),
            Endpoint(
                "GET",
                "/api/hosts/{host_id}/stats",
                self.host_stats,
                "A host's figures over all their shows",
                who="admin, host",
                responses={200: "the figures", 403: "forbidden"},
            ),
        ]


async def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "chunked" in request.headers.get(
        "transfer-encoding", ""
    )
