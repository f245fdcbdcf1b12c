"""Shared fixtures: one real redis-server per test session; a real server per test."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from live.app import LiveApp, Parts, create_app
from live.redisdb.client import Redis, connect
from live.settings import INTERNAL_SECRET_ENV, Settings, load_settings
from live.uvicorn_options import uvicorn_options
from tests.redis_server import TestRedis

# Strong, as `live serve` requires (live.security.admin_token); one per test run.
ADMIN_TOKEN = secrets.token_urlsafe(32)
# The secret of the media listeners, shared by every in-process server of a test run (as
# `live serve` shares one between its workers).
INTERNAL_SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[TestRedis]:
    server = TestRedis()
    server.start()
    yield server
    server.stop()


def make_settings(**env: str) -> Settings:
    """Settings as a deployment would load them, with a key prefix unique to one test."""
    base = {
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_REDIS_KEY_PREFIX": "t" + secrets.token_hex(4),
        "LIVE_LOGGING_FORMAT": "text",
        INTERNAL_SECRET_ENV: INTERNAL_SECRET,
    }
    return load_settings({**base, **env})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A real uvicorn server on loopback, running the whole app in this event loop."""

    base_url: str
    ws_url: str
    # What create_app built, to look at the server from inside.
    parts: Parts
    http: httpx.AsyncClient

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def as_user(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def new_viewer(self, name: str = "Mei") -> dict[str, Any]:
        answer = await self.http.post("/api/sessions", json={"name": name})
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data

    async def new_room(self, title: str = "Autumn linen") -> dict[str, Any]:
        answer = await self.admin("POST", "/api/rooms", json={"title": title, "host_name": "Lin"})
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data

    async def new_product(self, sku: str | None = None, **fields: Any) -> dict[str, Any]:
        product = {
            "sku": sku or "sku-" + secrets.token_hex(4),
            "title": "Linen shirt",
            "price_cents": 32900,
            "currency": "CNY",
            **fields,
        }
        answer = await self.admin("POST", "/api/products", json=product)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data


async def start_server(
    settings: Settings, redis_url: str, **options: Any
) -> tuple[uvicorn.Server, asyncio.Task[None], int, LiveApp]:
    """The app as `live serve` builds it (`create_app`, with `options`), under uvicorn."""
    app = create_app(settings, redis_url, **options)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        ws="websockets-sansio",
        # As `live serve`: connections still open after the grace are closed.
        timeout_graceful_shutdown=int(settings.server.shutdown_grace_s),
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task, port, app


@pytest.fixture
async def settings() -> Settings:
    return make_settings()


@pytest.fixture
def app_options() -> dict[str, Any]:
    """Options of `create_app` for `live_server`; a test module overrides this fixture to
    run its tests over several builds (e.g. both buy paths, tests/commerce)."""
    return {}


@pytest.fixture
async def live_server(
    redis_server: TestRedis, settings: Settings, app_options: dict[str, Any]
) -> AsyncIterator[LiveServer]:
    server, task, port, app = await start_server(settings, redis_server.url, **app_options)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task


@pytest.fixture
async def redis(redis_server: TestRedis) -> AsyncIterator[Redis]:
    client = connect(redis_server.url, make_settings())
    yield client
    await client.aclose()
