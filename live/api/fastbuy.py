"""Buys and bag checkouts answered in front of Starlette's middleware stack.

`POST /api/sales/{sale_id}/orders` (a flash sale's buy) and `POST /api/rooms/{room_id}/orders`
(a bag checkout) are nearly all of a selling server's requests, and Starlette's generic
layers (error and exception middleware, the router's walk over every route, Request
objects) cost about as much as a buy's own work. This path calls the same use cases
(`Buying.place_order`, `BagCheckout.place_order`), answers errors with the same table
(live/api/answers.py) and is logged by the same `AccessLog` as every routed request.
Other requests go on to Starlette. `create_app(..., fast_buy=False)` leaves both to the
routed handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from live.api.answers import handler_for, unexpected_error
from live.api.http import Handler
from live.commerce.buying import Buying
from live.commerce.checkout import BagCheckout
from live.errors import PayloadTooLarge
from live.http_input import RequestReader, check_declared_length, client_address, decode_json

SALES = "/api/sales/"
ROOMS = "/api/rooms/"
SUFFIX = "/orders"
_WANTED = (b"authorization", b"idempotency-key", b"content-length", b"x-forwarded-for")

Headers = dict[bytes, str]
# One fast route: from the path's id, the wanted headers, the body reader and the client
# address to the answer and its status.
Answer = Callable[[str, Headers, Callable[[], Awaitable[Any]], str], Awaitable[tuple[Any, int]]]


@dataclass(frozen=True)
class FastCheckout:
    """The bag checkout's part of the fast path: the use case and the routed handler (the
    access log names the route by it)."""

    checkout: BagCheckout
    route_endpoint: Handler


class BuyFastPath:
    """Answers buys (and, given a `FastCheckout`, bag checkouts) in front of `app`, the
    app's whole middleware stack (`wrap`, called by `LiveApp` in live/app.py).
    `route_endpoint` is the routed buy handler: the access log names the route by it."""

    def __init__(
        self,
        buying: Buying,
        reader: RequestReader,
        route_endpoint: Handler,
        bag: FastCheckout | None = None,
        app: ASGIApp | None = None,
    ) -> None:
        self.app = app
        self._buying = buying
        self._reader = reader
        self._route_endpoint = route_endpoint
        self._bag = bag

    def wrap(self, app: ASGIApp) -> BuyFastPath:
        """This fast path in front of `app`."""
        return BuyFastPath(self._buying, self._reader, self._route_endpoint, self._bag, app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.endswith(SUFFIX):
                if path.startswith(SALES):
                    sale_id = path[len(SALES) : -len(SUFFIX)]
                    # As the route's `{sale_id}`: one non-empty path segment.
                    if sale_id and "/" not in sale_id:
                        scope["endpoint"] = self._route_endpoint
                        await self._answer(scope, receive, send, sale_id, self._buy)
                        return
                elif self._bag is not None and path.startswith(ROOMS):
                    room_id = path[len(ROOMS) : -len(SUFFIX)]
                    if room_id and "/" not in room_id:
                        scope["endpoint"] = self._bag.route_endpoint
                        await self._answer(scope, receive, send, room_id, self._checkout)
                        return
        assert self.app is not None, "wrap() the app first"
        await self.app(scope, receive, send)

    async def _buy(
        self, sale_id: str, headers: Headers, read_body: Callable[[], Awaitable[Any]], ip: str
    ) -> tuple[Any, int]:
        return await self._buying.place_order(
            sale_id,
            headers.get(b"authorization"),
            headers.get(b"idempotency-key"),
            read_body,
            ip,
        )

    async def _checkout(
        self, room_id: str, headers: Headers, read_body: Callable[[], Awaitable[Any]], ip: str
    ) -> tuple[Any, int]:
        assert self._bag is not None
        return await self._bag.checkout.place_order(
            room_id,
            headers.get(b"authorization"),
            headers.get(b"idempotency-key"),
            read_body,
        )

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, path_id: str, answer: Answer
    ) -> None:
        answered = False  # whether a response has begun: then no error answer can follow
        try:
            headers: Headers = {}
            for name, value in scope["headers"]:
                if name in _WANTED and name not in headers:
                    headers[name] = value.decode("latin-1")
            client = scope.get("client")
            reader = self._reader
            ip = client_address(
                client[0] if client else "0.0.0.0",
                headers.get(b"x-forwarded-for"),
                reader.trusted_proxies,
            )
            limit = reader.max_body_bytes

            async def read_body() -> Any:
                check_declared_length(headers.get(b"content-length"), limit)
                return decode_json(await _body(receive, limit))

            order, status = await answer(path_id, headers, read_body, ip)
            body = orjson.dumps(order)
            answered = True
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        except Exception as exc:
            # The routed path's answer: Starlette's exception handlers are the same table;
            # the catch-all answers 500 and the error goes on to the server, as there.
            handler = handler_for(exc)
            if not answered:
                response = await handler(Request(scope, receive), exc)
                await response(scope, receive, send)
            if answered or handler is unexpected_error:
                raise


async def _body(receive: Receive, limit: int) -> bytes:
    """The request body, as Starlette's `Request.stream()` reads it, or 413 past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the body must be at most {limit} bytes")
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
