"""Redis goes away and comes back: the server says so, loses nothing, and recovers alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, make_settings, start_server
from tests.redis_server import TestRedis

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
