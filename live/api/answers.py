"""How errors become answers, and the access log: one of each for every HTTP path.

Starlette's routing gets `ERROR_HANDLERS` as its exception handlers; the buy fast path
(live/api/fastbuy.py) answers its errors with the same table (`handler_for`). `AccessLog`
wraps the whole app, both paths, and writes the one access line and metrics per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live import metrics
from live.api.http import error_response
from live.errors import LiveError, MethodNotAllowed, NotFound, Unavailable
from live.redisdb.errors import RedisClusterException, RedisError

log = logging.getLogger("live.app")
_access_log = logging.getLogger("live.access")

ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


async def _live_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    log.info(
        "rejected",
        extra={"path": request.url.path, "code": exc.code, "status": exc.status},
    )
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(NotFound(f"no such path: {request.url.path}"))
    if exc.status_code == 405:
        response = error_response(MethodNotAllowed(f"{request.method} is not allowed here"))
        if exc.headers:
            response.headers.update(exc.headers)
        return response
    error = LiveError(str(exc.detail), code="http_error")
    return Response(
        content=error_response(error).body,
        status_code=exc.status_code,
        media_type="application/json",
    )


async def _redis_error(request: Request, exc: Exception) -> Response:
    metrics.REDIS_ERRORS.labels(type(exc).__name__).inc()
    log.warning("redis unavailable", extra={"path": request.url.path, "error": str(exc)})
    return error_response(Unavailable("the store is unavailable; nothing was changed, retry"))


async def unexpected_error(request: Request, exc: Exception) -> Response:
    """The catch-all: 500 `internal`; the error itself goes on to the server's log."""
    log.exception("unexpected error", extra={"path": request.url.path})
    return error_response(LiveError("internal error", code="internal"))


ERROR_HANDLERS: dict[type[Exception], ErrorHandler] = {
    LiveError: _live_error,
    HTTPException: _http_error,
    RedisError: _redis_error,
    # redis-py's cluster client raises this when slots are uncovered (a failover).
    RedisClusterException: _redis_error,
    ConnectionError: _redis_error,
    Exception: unexpected_error,
}


def handler_for(exc: Exception) -> ErrorHandler:
    """The handler of `exc` in `ERROR_HANDLERS`, by its class's MRO (as Starlette looks)."""
    for cls in type(exc).__mro__:
        handler = ERROR_HANDLERS.get(cls)
        if handler is not None:
            return handler
    return unexpected_error


def record_request(method: str, path: str, route: str, status: int, elapsed: float) -> None:
    """The access log line and metrics of one HTTP request."""
    metrics.http_requests(method, route, str(status)).inc()
    metrics.http_latency(route).observe(elapsed)
    if _access_log.isEnabledFor(logging.INFO):
        ms = round(elapsed * 1000, 2)
        extra = {"method": method, "path": path, "status": status, "ms": ms}
        _access_log.info("request", extra=extra)


class AccessLog:
    """One log line and metrics per HTTP request, whichever path answered it; the path is
    logged without its query, the route by its handler's name (`scope["endpoint"]`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            record_request(scope["method"], scope["path"], _route_name(scope), status, elapsed)


def _route_name(scope: Scope) -> str:
    endpoint = scope.get("endpoint")
    return getattr(endpoint, "__name__", "unmatched")
