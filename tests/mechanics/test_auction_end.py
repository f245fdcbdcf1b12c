"""The end of an auction with the sweepers held back: a late bid is refused on Redis's
clock before any sweeper ran, and many sweepers racing end it exactly once."""

from __future__ import annotations

import asyncio

import pytest

from live.commerce.auctions import AuctionStore
from live.settings import Settings
from tests.commerce.helpers import eventually
from tests.conftest import LiveServer, make_settings
from tests.mechanics.helpers import open_auctioneer, redis_now_ms


@pytest.fixture
async def settings() -> Settings:
    # The server's own sweeper runs once at start-up, then not for an hour.
    return make_settings(LIVE_COMMERCE_SWEEP_INTERVAL_MS="3600000")


async def test_a_bid_after_the_end_is_refused_before_any_sweep(live_server: LiveServer) -> None:
    house = await open_auctioneer(live_server)
    auction = await house.open(duration_s=1, mode="sudden_death")
    auction_id = auction["auction_id"]
    mei = house.shop.viewer("Mei")
    assert (await house.bid(mei, auction_id, 1000)).status_code == 201

    async def over() -> bool:
        ends_at: int = auction["ends_at"]
        return await redis_now_ms(live_server) >= ends_at

    await eventually(over)
    late = await house.bid(house.shop.viewer("Ann"), auction_id, 5000)
    assert late.status_code == 409 and late.json()["error"]["code"] == "auction_ended"
    current = await house.get(auction_id)
    assert (current["status"], current["price_cents"]) == ("open", 1000)  # not yet swept

    svc = live_server.parts
    sweepers = [AuctionStore(svc.redis, svc.keys, svc.scripts, svc.settings) for _ in range(8)]
    ended = await asyncio.gather(*(s.end_due() for s in sweepers))
    assert sum(ended) >= 1
    (event,) = await house.events("auction_ended")
    assert event["winner_name"] == "Mei"
    order_keys = [
        k async for k in svc.redis.scan_iter(svc.keys.order_prefix(house.shop.room_id) + "*")
    ]
    assert len(order_keys) == 1
    assert (await house.get(auction_id))["status"] == "ended"
    assert await svc.redis.zrange(svc.keys.auctions_active(), 0, -1) == []
