"""Redis goes away and comes back: the server says so, loses nothing, and recovers alone."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, make_settings, start_server
from tests.redis_server import TestRedis
from tests.serving import new_buyers, open_sale

pytestmark = pytest.mark.slow


@pytest.fixture
async def own_redis() -> AsyncIterator[TestRedis]:
    server = TestRedis(appendfsync="always")
    server.start()
    yield server
    server.stop()


async def test_server_reports_and_survives_a_redis_restart(own_redis: TestRedis) -> None:
    settings = make_settings(LIVE_COMMERCE_DURABILITY="always")
    server, task, port, _ = await start_server(settings, own_redis.url)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            room = (
                await http.post(
                    "/api/rooms", json={"title": "t", "host_name": "h"}, headers=headers
                )
            ).json()
            own_redis.kill()
            health = await http.get("/healthz")
            assert health.status_code == 503
            assert health.json()["error"]["code"] == "unavailable"
            answer = await http.post(
                "/api/rooms", json={"title": "t", "host_name": "h"}, headers=headers
            )
            assert answer.status_code == 503
            assert answer.json()["error"]["code"] == "unavailable"

            await asyncio.to_thread(own_redis.restart)
            for _ in range(50):
                if (await http.get("/healthz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/healthz")).status_code == 200
            # With appendfsync always, what was answered 201 before the kill is still there.
            again = await http.get(f"/api/rooms/{room['room_id']}")
            assert again.status_code == 200 and again.json()["title"] == "t"
    finally:
        server.should_exit = True
        await task


async def test_buys_survive_redis_forgetting_its_scripts(redis_server: TestRedis) -> None:
    # A non-default setting changes the scripts' source, hence their hash: after Redis
    # forgets them (a restart, SCRIPT FLUSH), the server must load that same source again.
    settings = make_settings(
        LIVE_REALTIME_HISTORY_MIN_AGE_S="300", LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8"
    )
    server, task, port, app = await start_server(settings, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            _, sale = await open_sale(http, stock=5)

            async def buy() -> int:
                (token,) = await new_buyers(http, 1)
                answer = await http.post(
                    f"/api/sales/{sale['sale_id']}/orders",
                    json={"qty": 1},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": secrets.token_hex(8),
                    },
                )
                return answer.status_code

            assert await buy() == 201
            await app.parts.redis.script_flush()
            assert await buy() == 201
    finally:
        server.should_exit = True
        await task
