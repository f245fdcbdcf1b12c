"""With `durability = always`, an order answered 201 survives kill -9 of Redis."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from live.redisdb.client import RedisCheckError, check_server, connect
from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer, make_settings, start_server
from tests.redis_server import TestRedis as RedisProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def fsync_always_redis() -> Iterator[RedisProcess]:
    server = RedisProcess(appendfsync="always")
    server.start()
    yield server
    server.stop()


async def test_an_accepted_order_survives_kill_9_of_redis(fsync_always_redis: RedisProcess) -> None:
    settings = make_settings(LIVE_COMMERCE_DURABILITY="always")
    server, task, port, app = await start_server(settings, fsync_always_redis.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
            live = LiveServer(f"http://127.0.0.1:{port}", "", app.parts, http)
            shop = await open_shop(live)
            sale = await shop.new_sale(stock=5)
            token = shop.viewer()
            answer = await shop.buy(token, sale["sale_id"], qty=2, key="durable-1")
            assert answer.status_code == 201
            order = answer.json()

            fsync_always_redis.kill()
            fsync_always_redis.restart()

            again = await live.as_user(token, "GET", f"/api/orders/{order['order_id']}")
            assert again.status_code == 200 and again.json() == order
            after = await shop.sale(sale["sale_id"])
            assert (after["left"], after["held"]) == (3, 2)
            # The key still answers that order: nothing is taken twice after the crash.
            retry = await shop.buy(token, sale["sale_id"], qty=2, key="durable-1")
            assert retry.status_code == 200 and retry.json()["order_id"] == order["order_id"]
    finally:
        server.should_exit = True
        await task


async def test_always_refuses_a_redis_that_fsyncs_every_second(redis_server: RedisProcess) -> None:
    settings = make_settings(LIVE_COMMERCE_DURABILITY="always")
    client = connect(redis_server.url, settings)
    try:
        with pytest.raises(RedisCheckError, match="appendfsync must be always"):
            await check_server(client, settings)
    finally:
        await client.aclose()
