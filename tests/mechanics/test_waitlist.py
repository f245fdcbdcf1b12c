"""Waitlists on a real server: order of the line, offers kept for the first in line, a
lapsed or declined offer passing on, back to `left` when nobody waits, and the close."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from live.settings import Settings
from tests.commerce.helpers import Shop, eventually, open_shop
from tests.conftest import LiveServer, make_settings
from tests.realtime.client import channel


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_COMMERCE_OFFER_S="1", LIVE_COMMERCE_SWEEP_INTERVAL_MS="100")


async def sale_now(shop: Shop, sale_id: str) -> dict[str, Any]:
    sale: dict[str, Any] = (await shop.server.http.get(f"/api/sales/{sale_id}")).json()
    assert sale["stock"] == sale["left"] + sale["held"] + sale["sold"] + sale["offered"]
    return sale


async def waitlist(shop: Shop, token: str, method: str, sale_id: str) -> Any:
    return await shop.server.as_user(token, method, f"/api/sales/{sale_id}/waitlist")


async def test_units_that_come_back_go_to_the_line_in_order(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale_id = (await shop.new_sale(stock=2, per_buyer_limit=1, hold_s=600))["sale_id"]
    a, b, c, d, e = (shop.viewer(n) for n in "ABCDE")
    early = await waitlist(shop, c, "POST", sale_id)
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_sold_out"
    order_a = (await shop.buy(a, sale_id)).json()
    order_b = (await shop.buy(b, sale_id)).json()
    places = [(await waitlist(shop, t, "POST", sale_id)).json()["position"] for t in (c, d, e)]
    assert places == [1, 2, 3]
    again = await waitlist(shop, c, "POST", sale_id)
    assert (again.status_code, again.json()["position"]) == (200, 1)
    assert (await waitlist(shop, a, "POST", sale_id)).json()["error"]["code"] == "limit_reached"
    sale = await sale_now(shop, sale_id)
    assert (sale["status"], sale["waiting"], sale["offered"]) == ("sold_out", 3, 0)

    async with contextlib.AsyncExitStack() as stack:
        ws = {
            name: await stack.enter_async_context(channel(live_server.ws_url, shop.room_id, t))
            for name, t in (("C", c), ("D", d), ("E", e))
        }
        for client in ws.values():
            await client.of_type("snapshot")
        # A cancels: the unit is kept for C, the first in line, for offer_s.
        await live_server.as_user(a, "POST", f"/api/orders/{order_a['order_id']}/cancel")
        offer = await ws["C"].of_type("offer")
        assert (offer["sale_id"], offer["qty"]) == (sale_id, 1)
        sale = await sale_now(shop, sale_id)
        assert (sale["left"], sale["offered"], sale["waiting"], sale["status"]) == (
            0,
            1,
            2,
            "sold_out",
        )
        assert (await shop.buy(d, sale_id)).json()["error"]["code"] == "sold_out"
        bought = await shop.buy(c, sale_id)
        assert bought.status_code == 201, bought.text
        assert (await sale_now(shop, sale_id))["offered"] == 0

        # B cancels: kept for D, who lets it lapse; it passes on to E.
        await live_server.as_user(b, "POST", f"/api/orders/{order_b['order_id']}/cancel")
        await ws["D"].of_type("offer")
        await ws["D"].of_type("offer_expired", within=10)
        await ws["E"].of_type("offer")
        assert (await sale_now(shop, sale_id))["waiting"] == 0
        # E declines by leaving: nobody waits, so the unit goes back to `left`.
        assert (await waitlist(shop, e, "DELETE", sale_id)).json()["left"] is True
        sale = await sale_now(shop, sale_id)
        assert (sale["left"], sale["offered"], sale["status"]) == (1, 0, "open")


async def test_waiting_buyers_hear_when_the_sale_closes(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale_id = (await shop.new_sale(stock=1, per_buyer_limit=1))["sale_id"]
    assert (await shop.buy(shop.viewer("A"), sale_id)).status_code == 201
    waiter = shop.viewer("W")
    assert (await waitlist(shop, waiter, "POST", sale_id)).status_code == 201
    async with channel(live_server.ws_url, shop.room_id, waiter) as client:
        await client.of_type("snapshot")
        closed = await live_server.as_user(shop.host_token, "POST", f"/api/sales/{sale_id}/close")
        assert closed.status_code == 200
        event = await client.of_type("waitlist_closed")
        assert event["sale_id"] == sale_id
    assert (await sale_now(shop, sale_id))["waiting"] == 0
    late = await waitlist(shop, waiter, "POST", sale_id)
    assert late.json()["error"]["code"] == "sale_not_open"

    async def place_gone() -> bool:
        return (await waitlist(shop, waiter, "GET", sale_id)).json()["position"] is None

    await eventually(place_gone)
