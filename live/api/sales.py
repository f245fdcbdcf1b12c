"""Flash sales: create, read, close, and buy (the hot path: one Redis round trip)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from live import metrics
from live.api.catalog import parse_sku
from live.api.http import (
    Endpoint,
    bearer_of,
    client_ip,
    identity_of,
    in_networks,
    json_response,
    path_param,
    read_json,
    services,
)
from live.api.rooms import room_id_of
from live.auth import require_buyer, require_manager
from live.commerce.ids import room_of
from live.commerce.rules import (
    MAX_PER_BUYER,
    MAX_PRICE_CENTS,
    address_limit_key,
    parse_idempotency_key,
    parse_qty,
    parse_sale_request,
)
from live.errors import Conflict, LiveError
from live.services import Services
from live.validation import expect_object


async def create_sale(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    require_manager(identity_of(request), room_id)
    sale_request = parse_sale_request(
        expect_object(await read_json(request)), svc.settings.commerce
    )
    parse_sku(sale_request.sku)
    await svc.rooms.get_open(room_id)
    product = await svc.catalog.get(sale_request.sku)
    # A host may only sell what the room shows (a host token must not sell any SKU).
    if not await svc.rooms.in_lineup(room_id, sale_request.sku):
        raise Conflict("add the product to the room's line-up first", code="not_in_lineup")
    return json_response(await svc.sales.create(room_id, sale_request, product), 201)


async def get_sale(request: Request) -> Response:
    svc = services(request)
    return json_response(await svc.sales.get(path_param(request, "sale_id")))


async def close_sale(request: Request) -> Response:
    svc = services(request)
    sale_id = path_param(request, "sale_id")
    require_manager(identity_of(request), room_of(sale_id, "s"))
    return json_response(await svc.sales.close(sale_id))


async def buy(request: Request) -> Response:
    order, status = await place_order(
        services(request),
        path_param(request, "sale_id"),
        request.headers.get("authorization"),
        request.headers.get("idempotency-key"),
        lambda: read_json(request),
        client_ip(request),
    )
    return json_response(order, status)


async def place_order(
    svc: Services,
    sale_id: str,
    authorization: str | None,
    idempotency_key: str | None,
    read_body: Callable[[], Awaitable[Any]],
    ip: str,
) -> tuple[dict[str, Any], int]:
    """A buy, from the request's parts to the order and its status (201, or 200 for a
    replay); the routed handler and the fast path (live/api/fastbuy.py) both answer with it."""
    token = bearer_of(authorization)
    identity = require_buyer(
        svc.verify_token(token) if token is not None else None,
        anonymous_can_buy=svc.settings.auth.anonymous_can_buy,
    )
    key = parse_idempotency_key(idempotency_key)
    qty = parse_qty(expect_object(await read_body()))
    exempt = in_networks(ip, svc.settings.limits.exempt_networks)
    # Anonymous sessions cost nothing to make: their limit is also counted per address.
    by_address = svc.settings.commerce.anonymous_limit_by_ip and not identity.verified
    address = address_limit_key(ip) if by_address and not exempt else ""
    try:
        outcome = await svc.sales.buy(
            sale_id, identity.user_id, key, qty, None if exempt else ip, address
        )
    except LiveError as exc:
        metrics.orders(exc.code).inc()
        raise
    metrics.orders("created" if outcome.created else "replayed").inc()
    return outcome.order, 201 if outcome.created else 200


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

ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/rooms/{room_id}/sales",
        create_sale,
        "Start (or schedule) a flash sale of one SKU in the room",
        who="host, admin",
        body=SALE_SCHEMA,
        responses={201: "the sale", 404: "not_found", 409: "room_ended"},
    ),
    Endpoint(
        "GET",
        "/api/sales/{sale_id}",
        get_sale,
        "One sale with its stock: left, held, sold",
        responses={200: "the sale", 404: "not_found"},
    ),
    Endpoint(
        "POST",
        "/api/sales/{sale_id}/close",
        close_sale,
        "Close the sale now",
        who="host, admin",
        responses={200: "the sale", 404: "not_found"},
    ),
    Endpoint(
        "POST",
        "/api/sales/{sale_id}/orders",
        buy,
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
