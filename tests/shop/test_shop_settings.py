"""Shop settings: a shipping address required to pay, the returns window, the bag hold."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.shop.helpers import check_invariant, open_shop_room
from tests.shop.test_after_sale import ADDRESS, order_of


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_COMMERCE_REQUIRE_SHIPPING="true",
        LIVE_COMMERCE_RETURN_DAYS="0",
        LIVE_COMMERCE_BAG_HOLD_S="1",
    )


async def test_shipping_required_returns_window_and_expiry(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=3)
    token = shop.viewer()
    order = (await shop.checkout(token, [{"sku": mug["sku"], "qty": 1}])).json()
    oid = order["order_id"]
    unpaid = await live_server.as_user(token, "POST", f"/api/orders/{oid}/pay")
    assert unpaid.status_code == 409 and unpaid.json()["error"]["code"] == "shipping_required"
    with_address = (
        await shop.checkout(token, [{"sku": mug["sku"], "qty": 1}], shipping=ADDRESS)
    ).json()
    paid = await live_server.as_user(token, "POST", f"/api/orders/{with_address['order_id']}/pay")
    assert paid.status_code == 200, paid.text
    late = await shop.step(token, with_address["order_id"], "return", reason="changed my mind")
    assert late.status_code == 409 and late.json()["error"]["code"] == "bad_transition"
    # The unpaid order's hold (1 s) runs out: its unit is back within a second or so.
    expired = await _until(
        lambda: order_of(shop, token, oid), lambda o: o["status"] == "expired", 5
    )
    assert expired["status"] == "expired"
    product = await shop.product(mug["sku"])
    check_invariant(product)
    assert (product["available"], product["held"], product["sold"]) == (2, 0, 1)


async def _until(read: Any, match: Any, within: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await read()
        if match(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.05)
