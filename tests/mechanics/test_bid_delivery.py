"""A bid reaches the room's viewers at once, not at the end of the channel's tick: bids
race a countdown (`[realtime] urgent_events`), while other events keep waiting for the
tick so a busy room still sends at most one frame per tick."""

from __future__ import annotations

import asyncio

import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.mechanics.helpers import open_auctioneer
from tests.realtime.client import channel

# So long that an event waiting for the tick's end could not arrive within the test's
# patience but by a rare chance (the tick's end is aligned to the loop's clock).
TICK_MS = 60_000
PATIENCE_S = 5.0


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_REALTIME_TICK_MS=str(TICK_MS), LIVE_REALTIME_IMMEDIATE_FIRST="false")


def test_auction_events_are_urgent_and_chat_is_not() -> None:
    urgent = make_settings().realtime.urgent_events
    assert {"bid", "auction_open", "auction_ended"} <= set(urgent)
    assert not {"chat", "stock", "pin"} & set(urgent)
    assert make_settings(LIVE_REALTIME_URGENT_EVENTS="").realtime.urgent_events == ()


async def test_a_bid_does_not_wait_for_the_tick(live_server: LiveServer) -> None:
    house = await open_auctioneer(live_server)
    auction = await house.open()
    viewer = house.shop.viewer("Mei")
    async with channel(live_server.ws_url, house.shop.room_id, viewer) as ws:
        await ws.of_type("snapshot")
        loop = asyncio.get_running_loop()
        sent = loop.time()
        assert (await house.bid(viewer, auction["auction_id"], 1000)).status_code == 201
        event = await ws.of_type("bid", within=PATIENCE_S)
        assert event["price_cents"] == 1000
        assert loop.time() - sent < PATIENCE_S
