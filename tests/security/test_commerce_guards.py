"""Finding 8 (commerce): one charge per order however many pay calls race, sales only for
line-up products, product images from https or this server only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from live.commerce.payments import PaymentResult
from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer


class CountingProvider:
    """A provider that takes a moment to charge (as a real one does) and counts charges."""

    def __init__(self) -> None:
        self.charges: list[str] = []

    async def charge(self, order: dict[str, Any]) -> PaymentResult:
        self.charges.append(order["order_id"])
        await asyncio.sleep(0.2)
        return PaymentResult("approved", f"pay_{len(self.charges)}")

    async def refund(self, payment_id: str, order: dict[str, Any]) -> None:
        return None


@pytest.fixture
def provider() -> CountingProvider:
    return CountingProvider()


@pytest.fixture
def app_options(provider: CountingProvider) -> dict[str, Any]:
    return {"payments": provider}


async def test_racing_pay_calls_charge_the_buyer_once(
    live_server: LiveServer, provider: CountingProvider
) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    buyer = shop.viewer()
    order = (await shop.buy(buyer, sale["sale_id"])).json()
    path = f"/api/orders/{order['order_id']}/pay"
    answers = await asyncio.gather(*(live_server.as_user(buyer, "POST", path) for _ in range(8)))
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["status"] for a in answers} == {"paid"}
    assert provider.charges == [order["order_id"]]


async def test_sales_open_only_for_products_on_the_rooms_line_up(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    other = await live_server.new_product()
    body = {
        "sku": other["sku"],
        "stock": 5,
        "price_cents": 100,
        "per_buyer_limit": 1,
        "hold_s": 60,
        "duration_s": 60,
    }
    answer = await live_server.as_user(
        shop.host_token, "POST", f"/api/rooms/{shop.room_id}/sales", json=body
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_in_lineup"


async def test_image_urls_are_https_or_this_servers_own(live_server: LiveServer) -> None:
    for bad in ("//evil.example/x.png", "http://evil.example/x.png", "javascript:alert(1)"):
        answer = await live_server.admin(
            "POST",
            "/api/products",
            json={
                "sku": "img-bad",
                "title": "x",
                "price_cents": 1,
                "currency": "CNY",
                "image_url": bad,
            },
        )
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["field"] == "image_url"
    for good in ("https://cdn.example/x.png", "/static/img/linen-shirt.svg"):
        assert (await live_server.new_product(image_url=good))["image_url"] == good
