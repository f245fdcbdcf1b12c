"""Per-IP buy limits: a bot with many accounts on one address is slowed down, unless its
address is in `[limits] exempt_networks` (load generators)."""

from __future__ import annotations

import httpx
import pytest

from live.settings import Settings
from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer, make_settings, start_server
from tests.redis_server import TestRedis as RedisProcess


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_LIMITS_BUYS_PER_IP_PER_S="3")


async def test_one_address_is_limited_across_accounts(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=100, per_buyer_limit=5)
    codes = [(await shop.buy(shop.viewer(), sale["sale_id"])).status_code for _ in range(10)]
    assert 429 in codes and codes.count(201) <= 3 * 2  # at most two one-second windows
    limited = next(
        answer
        for answer in [await shop.buy(shop.viewer(), sale["sale_id"]) for _ in range(5)]
        if answer.status_code == 429
    )
    assert limited.json()["error"]["code"] == "rate_limited"


async def test_exempt_networks_lift_the_per_ip_limit(redis_server: RedisProcess) -> None:
    settings = make_settings(
        LIVE_LIMITS_BUYS_PER_IP_PER_S="3", LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8"
    )
    server, task, port, app = await start_server(settings, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            live = LiveServer(f"http://127.0.0.1:{port}", "", app.parts, http)
            shop = await open_shop(live)
            sale = await shop.new_sale(stock=100, per_buyer_limit=5)
            codes = {
                (await shop.buy(shop.viewer(), sale["sale_id"])).status_code for _ in range(10)
            }
            assert codes == {201}
            assert (await http.get("/openapi.json")).status_code == 200
            paths = (await http.get("/openapi.json")).json()["paths"]
            assert "/api/sales/{sale_id}/orders" in paths
    finally:
        server.should_exit = True
        await task
