"""A room's line-up over a real server and Redis: its size limit holds under concurrency."""

from __future__ import annotations

import asyncio

import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings

MAX_LINEUP = 5


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_ROOMS_MAX_LINEUP=str(MAX_LINEUP))


async def test_concurrent_adds_never_pass_max_lineup(live_server: LiveServer) -> None:
    skus = [(await live_server.new_product())["sku"] for _ in range(4 * MAX_LINEUP)]
    for _ in range(3):
        room_id = (await live_server.new_room())["room_id"]
        path = f"/api/rooms/{room_id}/products"
        answers = await asyncio.gather(
            *(live_server.admin("POST", path, json={"sku": sku}) for sku in skus)
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * MAX_LINEUP + [409] * (len(skus) - MAX_LINEUP)
        refused = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
        assert set(refused) == {"lineup_full"}
        lineup = (await live_server.http.get(path)).json()["products"]
        added = {sku for sku, a in zip(skus, answers, strict=True) if a.status_code == 201}
        assert {p["sku"] for p in lineup} == added
        # A full line-up still takes one of its own products again (adding is idempotent).
        again = await live_server.admin("POST", path, json={"sku": lineup[0]["sku"]})
        assert again.status_code == 201
        assert [p["sku"] for p in again.json()["products"]] == [p["sku"] for p in lineup]
