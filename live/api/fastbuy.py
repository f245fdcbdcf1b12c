"""`POST /api/sales/{sale_id}/orders` answered in front of Starlette's middleware stack.

In a flash sale buys are nearly all of a server's requests, and Starlette's generic layers
(error and exception middleware, the router's walk over every route, Request objects) cost
about as much as the buy's own work. This path answers as the routed handler does: the same
checks and order (`sales.place_order`), the app's own exception handlers for every error,
the same access log line and metrics (`record_request`). Other requests go on to Starlette.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from live import metrics
from live.api.http import check_declared_length, client_address, decode_json
from live.api.sales import place_order
from live.errors import PayloadTooLarge
from live.services import Services

PREFIX = "/api/sales/"
SUFFIX = "/orders"
ROUTE = "buy"  # the routed handler's name, which the metrics and log use as the route
_WANTED = (b"authorization", b"idempotency-key", b"content-length", b"x-forwarded-for")
_access_log = logging.getLogger("live.access")


def record_request(method: str, path: str, route: str, status: int, elapsed: float) -> None:
    """The access log line and metrics of one HTTP request (AccessLogMiddleware's too)."""
    metrics.http_requests(method, route, str(status)).inc()
    metrics.http_latency(route).observe(elapsed)
    if _access_log.isEnabledFor(logging.INFO):
        ms = round(elapsed * 1000, 2)
        extra = {"method": method, "path": path, "status": status, "ms": ms}
        _access_log.info("request", extra=extra)


class BuyFastPath:
    """Wraps the app's whole middleware stack (see `LiveApp` in live/app.py)."""

    def __init__(self, app: ASGIApp, owner: Starlette) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(PREFIX) and path.endswith(SUFFIX):
                sale_id = path[len(PREFIX) : -len(SUFFIX)]
                # As the route's `{sale_id}`: one non-empty path segment.
                if sale_id and "/" not in sale_id:
                    await self._buy(scope, receive, send, sale_id)
                    return
        await self.app(scope, receive, send)

    async def _buy(self, scope: Scope, receive: Receive, send: Send, sale_id: str) -> None:
        started = time.perf_counter()
        status = 500
        answered = False  # whether a response has begun: then no 500 can follow
        try:
            headers: dict[bytes, str] = {}
            for name, value in scope["headers"]:
                if name in _WANTED and name not in headers:
                    headers[name] = value.decode("latin-1")
            svc: Services = self.owner.state.services
            client = scope.get("client")
            ip = client_address(
                client[0] if client else "0.0.0.0",
                headers.get(b"x-forwarded-for"),
                svc.settings.server.trusted_proxies,
            )
            limit = svc.settings.server.max_body_bytes

            async def read_body() -> Any:
                check_declared_length(headers.get(b"content-length"), limit)
                return decode_json(await _body(receive, limit))

            try:
                order, status = await place_order(
                    svc,
                    sale_id,
                    headers.get(b"authorization"),
                    headers.get(b"idempotency-key"),
                    read_body,
                    ip,
                )
            except Exception as exc:
                handler = self._handler_for(exc)
                if handler is None or handler is self.owner.exception_handlers.get(Exception):
                    raise
                response = await handler(Request(scope, receive), exc)
                status, answered = response.status_code, True
                await response(scope, receive, send)
                return
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
            # As ServerErrorMiddleware: the app's catch-all answers 500 (unless an answer has
            # begun), and the error goes on to the server.
            status = 500
            handler = self.owner.exception_handlers.get(Exception)
            if handler is not None and not answered:
                response = await handler(Request(scope, receive), exc)
                await response(scope, receive, send)
            raise
        finally:
            record_request("POST", scope["path"], ROUTE, status, time.perf_counter() - started)

    def _handler_for(self, exc: Exception) -> Any:
        handlers = self.owner.exception_handlers
        for cls in type(exc).__mro__:
            if cls in handlers:
                return handlers[cls]
        return None


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
