"""`GET /api/me/orders` lists every order of the buyer, newest first, over every room: bag
orders, flash-sale orders, an order bought from a waitlist's offer and a won auction's."""

from __future__ import annotations

from typing import Any

import pytest

from live.settings import Settings
from tests.commerce.helpers import eventually, open_shop
from tests.conftest import LiveServer, make_settings
from tests.mechanics.helpers import Auctioneer
from tests.shop.helpers import open_shop_room


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_COMMERCE_SWEEP_INTERVAL_MS="100")


async def test_every_kind_of_order_is_listed_for_its_buyer(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=3)
    mei = shop.viewer("Mei")
    bag = (await shop.checkout(mei, [{"sku": mug["sku"], "qty": 1}])).json()

    sales = await open_shop(live_server)  # another room
    sale = await sales.new_sale(stock=1, per_buyer_limit=1)
    bought = (await sales.buy(mei, sale["sale_id"])).json()
    # A sold-out sale's waitlist: Ann's cancel offers the unit to Mei, who buys it.
    drop = await sales.new_sale(stock=1, per_buyer_limit=1)
    ann = sales.viewer("Ann")
    ann_order = (await sales.buy(ann, drop["sale_id"])).json()
    joined = await live_server.as_user(mei, "POST", f"/api/sales/{drop['sale_id']}/waitlist")
    assert joined.status_code == 201, joined.text
    await live_server.as_user(ann, "POST", f"/api/orders/{ann_order['order_id']}/cancel")

    async def offered_buy() -> dict[str, Any] | None:
        answer = await sales.buy(mei, drop["sale_id"])
        return answer.json() if answer.status_code == 201 else None

    from_waitlist = await eventually(offered_buy)

    house = Auctioneer(sales)
    auction = await house.open(duration_s=1, mode="sudden_death")
    assert (await house.bid(mei, auction["auction_id"], 1000)).status_code == 201

    async def won() -> str | None:
        current = await house.get(auction["auction_id"])
        return current.get("order_id") if current["status"] == "ended" else None

    auction_order = await eventually(won)
    expected = {bag["order_id"], bought["order_id"], from_waitlist["order_id"], auction_order}

    async def listed() -> list[dict[str, Any]] | None:
        answer = await live_server.as_user(mei, "GET", "/api/me/orders")
        assert answer.status_code == 200, answer.text
        orders: list[dict[str, Any]] = answer.json()["orders"]
        return orders if {o["order_id"] for o in orders} == expected else None

    orders = await eventually(listed)
    assert [o["created_at"] for o in orders] == sorted(
        (o["created_at"] for o in orders), reverse=True
    )
    assert all(o["user_id"] != ann_order["user_id"] for o in orders)
    # Pages: newest first, no order twice.
    first = await live_server.as_user(mei, "GET", "/api/me/orders?limit=2")
    rest = await live_server.as_user(
        mei, "GET", f"/api/me/orders?limit=2&cursor={first.json()['next']}"
    )
    paged = [o["order_id"] for o in first.json()["orders"] + rest.json()["orders"]]
    assert paged == [o["order_id"] for o in orders]
    # Ann's list has her cancelled order only.
    hers = (await live_server.as_user(ann, "GET", "/api/me/orders")).json()["orders"]
    assert [(o["order_id"], o["status"]) for o in hers] == [(ann_order["order_id"], "cancelled")]
    anonymous = await live_server.http.get("/api/me/orders")
    assert anonymous.status_code == 401
