"""Orders: read, pay, cancel; a room's order record, its export and its stats."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from live.api.http import Endpoint, json_response, path_param
from live.api.rooms import ViewerCounts, room_id_of
from live.auth import Identity, require_manager, require_user
from live.commerce.bag import AFTER_PAYMENT, BagStore
from live.commerce.pay_claims import PayClaims
from live.commerce.payments import PaymentProvider
from live.commerce.rules import ORDER_FIELDS, outcome_error
from live.commerce.sales import SaleStore
from live.errors import BadRequest, Conflict, Forbidden, LiveError
from live.http_input import RequestReader
from live.rooms.store import RoomStore
from live.settings import CommerceSettings
from live.validation import query_limit


async def _jsonl(orders: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for order in orders:
        yield orjson.dumps(order) + b"\n"


async def _csv(orders: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*ORDER_FIELDS, "lines"])
    async for order in orders:
        row = ["" if order[f] is None else order[f] for f in ORDER_FIELDS]
        writer.writerow([*row, csv_lines(order.get("lines") or [])])
        if buffer.tell() > 16384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_lines(lines: list[dict[str, Any]]) -> str:
    """An order's lines in one cell: `sku/variant x qty @ price`, `;` between lines."""
    return "; ".join(
        f"{line['sku']}{'/' + line['variant_id'] if line.get('variant_id') else ''}"
        f" x {line['qty']} @ {line['price_cents']}{' refunded' if line.get('refunded') else ''}"
        for line in lines
    )


class OrdersApi:
    def __init__(
        self,
        reader: RequestReader,
        rooms: RoomStore,
        sales: SaleStore,
        bag: BagStore,
        payments: PaymentProvider,
        pay_claims: PayClaims,
        viewer_counts: ViewerCounts,
        commerce: CommerceSettings,
    ) -> None:
        self._reader = reader
        self._pay_claims = pay_claims
        self._rooms = rooms
        self._sales = sales
        self._bag = bag
        self._commerce = commerce
        self._payments = payments
        self._viewer_counts = viewer_counts

    async def _order_for(self, identity: Identity, order_id: str) -> dict[str, Any]:
        """The order if `identity` is its buyer, the room's host or an admin; else 403."""
        order = await self._sales.get_order(order_id)
        if order["user_id"] != identity.user_id and not identity.may_manage(order["room_id"]):
            raise Forbidden("only its buyer, the room's host or an admin may see this order")
        return order

    async def get_order(self, request: Request) -> Response:
        identity = require_user(self._reader.identity(request))
        order = await self._order_for(identity, path_param(request, "order_id"))
        (order,) = await self._bag.with_positions([order])
        return json_response(order)

    async def pay_order(self, request: Request) -> Response:
        identity = require_user(self._reader.identity(request))
        order = await self._sales.get_order(path_param(request, "order_id"))
        if order["user_id"] != identity.user_id:
            raise Forbidden("only the order's buyer may pay it")
        if order["status"] == "paid":
            return json_response(order)
        if order["status"] in AFTER_PAYMENT:
            raise Conflict(f"the order is {order['status']}", code="bad_transition")
        if order["status"] != "held":
            raise outcome_error(
                "order_cancelled" if order["status"] == "cancelled" else "hold_expired"
            )
        bag = order["sale_id"] is None
        if bag and self._commerce.require_shipping and not order.get("shipping"):
            raise Conflict("add a shipping address before paying", code="shipping_required")
        # One charge per order however many pay calls race: only the call that claims the
        # payment calls the provider; the others wait for its outcome.
        if not await self._pay_claims.claim(order):
            return json_response(await self._outcome_of_other_pay(order["order_id"]))
        try:
            payment = await self._payments.charge(order)
        except BaseException:
            await self._pay_claims.release(order)
            raise
        if payment.status == "declined":
            await self._pay_claims.release(order)
            raise Conflict(payment.message or "the payment was declined", code="payment_declined")
        if payment.status == "pending":
            # The provider's signed webhook completes it (docs/protocol.md, "Payments").
            return json_response(
                {**order, "payment": {"status": "pending", "id": payment.payment_id}}, 202
            )
        try:
            paid = await (
                self._bag.pay(
                    order, payment.payment_id, require_shipping=self._commerce.require_shipping
                )
                if bag
                else self._sales.pay(order, payment.payment_id)
            )
        except LiveError:
            await self._payments.refund(payment.payment_id, order)
            raise
        if paid.get("payment_id") != payment.payment_id:
            # A concurrent pay of the same order won the race: this charge is not needed.
            await self._payments.refund(payment.payment_id, order)
        return json_response(paid)

    async def _outcome_of_other_pay(self, order_id: str) -> dict[str, Any]:
        """The order once the concurrent pay that claimed it is done (paid), or 409."""
        for _ in range(100):
            order = await self._sales.get_order(order_id)
            if order["status"] == "paid":
                return order
            if order["status"] != "held":
                break
            await asyncio.sleep(0.05)
        raise Conflict("a payment of this order is in progress; retry", code="payment_in_progress")

    async def cancel_order(self, request: Request) -> Response:
        identity = require_user(self._reader.identity(request))
        order = await self._order_for(identity, path_param(request, "order_id"))
        if order["sale_id"] is None:
            return json_response(await self._bag.cancel(order))
        by_buyer = order["user_id"] == identity.user_id and not identity.may_manage(
            order["room_id"]
        )
        return json_response(
            await self._sales.cancel(order, identity.user_id if by_buyer else None)
        )

    async def _managed_room(self, request: Request) -> str:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        await self._rooms.get(room_id)
        return room_id

    async def list_orders(self, request: Request) -> Response:
        room_id = await self._managed_room(request)
        limit = query_limit(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor") or None
        if cursor is not None and not cursor.isdigit():
            raise BadRequest("`cursor` is not one this server gave", field="cursor")
        orders, next_cursor = await self._sales.orders_page(
            room_id, limit, int(cursor) if cursor else None
        )
        return json_response(
            {"orders": orders, "next": str(next_cursor) if next_cursor is not None else None}
        )

    async def export_orders(self, request: Request) -> Response:
        room_id = await self._managed_room(request)
        fmt = request.query_params.get("format") or "csv"
        if fmt not in ("csv", "jsonl"):
            raise BadRequest("`format` must be csv or jsonl", field="format")
        orders = self._sales.all_orders(room_id)
        if fmt == "jsonl":
            return StreamingResponse(_jsonl(orders), media_type="application/x-ndjson")
        return StreamingResponse(
            _csv(orders),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="orders-{room_id}.csv"'},
        )

    async def room_stats(self, request: Request) -> Response:
        room_id = await self._managed_room(request)
        (viewers,) = await self._viewer_counts([room_id])
        stats = await self._sales.stats(room_id, viewers)
        stats.update(await self._bag.room_shop_figures(room_id))
        return json_response(stats)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/orders/{order_id}",
                self.get_order,
                "One order",
                who="its buyer, host, admin",
                responses=ORDER_RESPONSES,
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/pay",
                self.pay_order,
                "Pay a held order (again: the same paid order)",
                who="its buyer",
                responses={
                    **ORDER_RESPONSES,
                    202: "payment pending (providers that confirm by webhook)",
                    409: "hold_expired, order_cancelled, payment_declined",
                },
            ),
            Endpoint(
                "POST",
                "/api/orders/{order_id}/cancel",
                self.cancel_order,
                "Cancel a held order; its units go back to the sale",
                who="its buyer, host, admin",
                responses={**ORDER_RESPONSES, 409: "already_paid, hold_expired"},
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/orders",
                self.list_orders,
                "The room's orders, newest first",
                who="host, admin",
                query=("limit", "cursor"),
                responses={200: "{orders, next}", 404: "not_found"},
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/orders/export",
                self.export_orders,
                "Every order of the room, oldest first, as CSV or JSON lines",
                who="host, admin",
                query=("format",),
                responses={200: "text/csv or application/x-ndjson", 404: "not_found"},
                content_type="text/csv",
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/stats",
                self.room_stats,
                "Room totals: viewers, peak_viewers, buyers, orders, units_sold, gmv_cents, "
                "conversion",
                who="host, admin",
                responses={200: "the stats", 404: "not_found"},
            ),
        ]


ORDER_RESPONSES = {200: "the order", 403: "forbidden", 404: "not_found"}
