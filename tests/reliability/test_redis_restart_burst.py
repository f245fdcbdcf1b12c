"""Redis killed and restarted in the middle of a flash-sale burst, with
`[commerce] durability = always`: every order answered 201 is still there afterwards, the
sale's invariant holds, and the server reconnects by itself."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import make_settings, start_server
from tests.redis_server import TestRedis
from tests.serving import ADMIN, new_buyers, open_sale

pytestmark = pytest.mark.slow
UNITS = 80
BUYERS = 200


@pytest.fixture
async def always_redis() -> AsyncIterator[TestRedis]:
    server = TestRedis(appendfsync="always")
    server.start()
    yield server
    server.stop()


async def test_no_accepted_order_is_lost_when_redis_restarts(always_redis: TestRedis) -> None:
    settings = make_settings(
        LIVE_COMMERCE_DURABILITY="always", LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8"
    )
    server, task, port, _ = await start_server(settings, always_redis.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
            _, sale = await open_sale(http, stock=UNITS, hold_s=300)
            tokens = await new_buyers(http, BUYERS)
            accepted: dict[str, str] = {}
            unavailable = 0
            first_answer = asyncio.Event()

            async def buy(token: str) -> None:
                nonlocal unavailable
                key = secrets.token_hex(8)
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
                for _ in range(200):
                    try:
                        answer = await http.post(
                            f"/api/sales/{sale['sale_id']}/orders",
                            json={"qty": 1},
                            headers=headers,
                        )
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                        continue
                    first_answer.set()
                    if answer.status_code in (200, 201):
                        accepted[key] = answer.json()["order_id"]
                        return
                    if answer.status_code == 409:
                        return
                    # Redis away: 503 `unavailable`, nothing taken; retry the same key.
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["error"]["code"] == "unavailable"
                    unavailable += 1
                    await asyncio.sleep(0.05)
                raise AssertionError("a buyer never got an answer")

            async def restart_redis() -> None:
                await first_answer.wait()
                always_redis.kill()
                await asyncio.sleep(0.5)
                await asyncio.to_thread(always_redis.restart)

            await asyncio.gather(restart_redis(), *(buy(t) for t in tokens))
            assert unavailable > 0, "some buys should have met the outage"
            assert (await http.get("/healthz")).status_code == 200
            state = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
            for order_id in accepted.values():
                found = await http.get(f"/api/orders/{order_id}", headers=ADMIN)
                assert found.status_code == 200, f"order {order_id} answered 201 was lost"
        assert len(set(accepted.values())) == len(accepted)
        assert state["stock"] == state["left"] + state["held"] + state["sold"]
        assert state["held"] + state["sold"] == len(accepted) == UNITS
    finally:
        server.should_exit = True
        await task
