"""create_app(settings) -> Starlette: routes, lifespan, error handling, wiring."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live import metrics
from live.api import catalog, media, ops, orders, pages, rooms, sales, sessions
from live.api.fastbuy import BuyFastPath, record_request
from live.api.http import Endpoint, error_response
from live.api.mechanics import mechanics_endpoints
from live.api.openapi import openapi_handler
from live.errors import LiveError, MethodNotAllowed, NotFound, Unavailable
from live.logs import configure_logging, silence_uvicorn_access_log
from live.redisdb.client import check_server, connect
from live.services import Services
from live.settings import Settings

log = logging.getLogger("live.app")

# A component is started with the services once Redis answers, and stopped at shutdown.
Component = Callable[[Services], contextlib.AbstractAsyncContextManager[Any]]


def all_endpoints() -> list[Endpoint]:
    endpoints = [*sessions.ENDPOINTS, *rooms.ENDPOINTS, *catalog.ENDPOINTS, *ops.ENDPOINTS]
    endpoints += [*sales.ENDPOINTS, *orders.ENDPOINTS, *media.ENDPOINTS]
    endpoints += mechanics_endpoints()
    endpoints += pages.ENDPOINTS
    return [*endpoints, openapi_handler(endpoints)]


def create_app(
    settings: Settings,
    redis_url: str,
    *,
    components: Sequence[Component] = (),
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The ASGI app. `redis_url` is the Redis to use (the embedded one's, or LIVE_REDIS_URL)."""
    silence_uvicorn_access_log()
    endpoints = all_endpoints()
    routes: list[BaseRoute] = [Route(ep.path, ep.handler, methods=[ep.method]) for ep in endpoints]
    routes += list(extra_routes)
    routes.append(Mount("/static", StaticFiles(directory=pages.WEB_DIR), name="static"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = connect(redis_url, settings)
        try:
            await check_server(redis, settings)
            svc = Services.build(settings, redis)
            app.state.services = svc
            async with contextlib.AsyncExitStack() as stack:
                for component in components:
                    await stack.enter_async_context(component(svc))
                log.info("ready", extra={"redis": _safe_url(redis_url)})
                yield
        finally:
            await redis.aclose()

    app = LiveApp(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            LiveError: _live_error,
            HTTPException: _http_error,
            RedisError: _redis_error,
            ConnectionError: _redis_error,
            Exception: _unexpected_error,
        },
    )
    app.add_middleware(AccessLogMiddleware)
    return app


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


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error", extra={"path": request.url.path})
    return error_response(LiveError("internal error", code="internal"))


def _safe_url(url: str) -> str:
    # Keep passwords out of logs.
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class LiveApp(Starlette):
    """Starlette with the buy fast path (live/api/fastbuy.py) in front of its stack."""

    def build_middleware_stack(self) -> ASGIApp:
        return BuyFastPath(super().build_middleware_stack(), self)


class AccessLogMiddleware:
    """One log line and metrics per HTTP request; the path is logged without its query."""

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


def app_from_environment() -> Starlette:
    """The factory `live serve` hands to uvicorn workers: settings from the environment."""
    from live.redisdb.embedded import SUPERVISOR_PID_ENV, die_with_parent
    from live.settings import load_settings

    # A worker must not outlive `live serve` (it would hold the port after a kill -9). With
    # one worker the app runs in `live serve` itself, which has no supervisor to follow.
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if supervisor:
        die_with_parent(int(supervisor))
    settings = load_settings()
    configure_logging(settings.logging.level, settings.logging.format)
    # `live serve` points LIVE_REDIS_URL at the embedded Redis before starting workers.
    redis_url = settings.redis_url
    if not redis_url:
        raise RuntimeError("no Redis: set LIVE_REDIS_URL or start through `live serve`")
    from live.wiring import default_components, default_routes

    return create_app(
        settings, redis_url, components=default_components(), extra_routes=default_routes()
    )
