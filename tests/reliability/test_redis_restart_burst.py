"""Redis killed and restarted in the middle of a flash-sale burst, with
`[commerce] durability = always`: every order answered 201 is still there afterwards, the
sale's invariant holds, and the server reconnects by itself."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest

from live.redisdb.client import connect
from tests.conftest import make_settings, start_server
from tests.redis_server import TestRedis
from tests.serving import ADMIN, new_buyers, open_sale

pytestmark = pytest.mark.slow
UNITS = 80
BUYERS = 200


async def until_healthy(http: httpx.AsyncClient, timeout_s: float = 30) -> None:
    """Return once /healthz answers 200: the server has reached Redis again."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (await http.get("/healthz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "the server never came back"
        await asyncio.sleep(0.05)


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
            # Redis goes down once a quarter of the units are taken (the burst's middle, by
            # count rather than by clock), stays down until a buy has met the outage, and
            # is back once it answers PING and the server says it is healthy again.
            quarter_taken = asyncio.Event()
            outage = asyncio.Event()
            met_outage = asyncio.Event()
            back = asyncio.Event()

            async def buy(token: str) -> None:
                nonlocal unavailable
                key = secrets.token_hex(8)
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
                deadline = asyncio.get_running_loop().time() + 60
                while True:
                    assert asyncio.get_running_loop().time() < deadline, "a buyer got no answer"
                    try:
                        answer = await http.post(
                            f"/api/sales/{sale['sale_id']}/orders",
                            json={"qty": 1},
                            headers=headers,
                        )
                    except httpx.TransportError:
                        answer = None
                    if answer is not None and answer.status_code in (200, 201):
                        accepted[key] = answer.json()["order_id"]
                        if len(accepted) >= UNITS // 4:
                            quarter_taken.set()
                        return
                    if answer is not None and answer.status_code == 409:
                        return
                    # Redis away: 503 `unavailable`, nothing taken; the same key once it is
                    # back.
                    if answer is not None:
                        assert answer.status_code == 503, answer.text
                        assert answer.json()["error"]["code"] == "unavailable"
                    if not outage.is_set():
                        continue  # Redis is up: a slow command on a loaded machine; again
                    unavailable += 1
                    met_outage.set()
                    await back.wait()

            async def restart_redis() -> None:
                await quarter_taken.wait()
                always_redis.kill()  # SIGKILL, then reaped: Redis is gone
                outage.set()
                taken_before = len(accepted)
                await met_outage.wait()
                await asyncio.to_thread(always_redis.restart)  # returns once PING answers
                probe = connect(always_redis.url, settings)
                try:
                    assert await probe.ping()
                finally:
                    await probe.aclose()
                await until_healthy(http)
                back.set()
                assert UNITS // 4 <= taken_before < UNITS

            await asyncio.gather(restart_redis(), *(buy(t) for t in tokens))
            assert unavailable > 0
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
