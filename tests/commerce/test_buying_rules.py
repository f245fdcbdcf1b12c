"""Every buying rule of the contract, over HTTP against a real server and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from live.commerce.payments import InstantPayments, PaymentResult
from live.redisdb.client import Redis
from tests.commerce.helpers import (
    BUY_PATHS,
    Shop,
    eventually,
    open_shop,
    order_status,
    redis_clock_passes,
)
from tests.conftest import LiveServer, make_settings


@pytest.fixture(params=BUY_PATHS)
def app_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test here runs over both buy paths (tests/commerce/helpers.py)."""
    options: dict[str, Any] = request.param
    return options


async def test_buy_holds_units_and_answers_the_order(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=5)
    assert sale["status"] == "open"
    token = shop.viewer()
    answer = await shop.buy(token, sale["sale_id"], qty=2)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "held"
    assert order["qty"] == 2 and order["amount_cents"] == 2 * 19900
    assert order["currency"] == "CNY" and order["title"] == "Linen shirt"
    assert order["expires_at"] - order["created_at"] == 60_000
    after = await shop.sale(sale["sale_id"])
    assert (after["left"], after["held"], after["sold"]) == (3, 2, 0)
    mine = await live_server.as_user(token, "GET", f"/api/orders/{order['order_id']}")
    assert mine.json() == order


async def test_qty_must_be_within_the_limit(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(per_buyer_limit=2)
    token = shop.viewer()
    for qty in (0, -1, 3, 1.5, "1", None):
        answer = await live_server.as_user(
            token,
            "POST",
            f"/api/sales/{sale['sale_id']}/orders",
            content=orjson.dumps({"qty": qty}),
            headers={"Idempotency-Key": f"k{qty}"},
        )
        assert answer.status_code == 400, (qty, answer.text)
        assert answer.json()["error"]["code"] == "bad_request"
    assert (await shop.sale(sale["sale_id"]))["left"] == 10


async def test_idempotency_key_is_required(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    answer = await live_server.as_user(
        shop.viewer(), "POST", f"/api/sales/{sale['sale_id']}/orders", json={"qty": 1}
    )
    assert answer.status_code == 400


async def test_all_or_nothing(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=3, per_buyer_limit=2)
    assert (await shop.buy(shop.viewer(), sale["sale_id"], qty=2)).status_code == 201
    short = await shop.buy(shop.viewer(), sale["sale_id"], qty=2)
    assert short.status_code == 409 and short.json()["error"]["code"] == "not_enough_left"
    assert (await shop.buy(shop.viewer(), sale["sale_id"], qty=1)).status_code == 201
    gone = await shop.buy(shop.viewer(), sale["sale_id"], qty=1)
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "sold_out"
    after = await shop.sale(sale["sale_id"])
    assert (after["left"], after["held"], after["status"]) == (0, 3, "sold_out")


async def test_per_buyer_limit_counts_held_and_paid_units(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(per_buyer_limit=3)
    token = shop.viewer()
    first = (await shop.buy(token, sale["sale_id"], qty=2)).json()
    paid = await live_server.as_user(token, "POST", f"/api/orders/{first['order_id']}/pay")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    second = await shop.buy(token, sale["sale_id"], qty=1)
    assert second.status_code == 201
    over = await shop.buy(token, sale["sale_id"], qty=1)
    assert over.status_code == 409 and over.json()["error"]["code"] == "limit_reached"
    # Cancelling frees that much of the limit.
    cancel = await live_server.as_user(
        token, "POST", f"/api/orders/{second.json()['order_id']}/cancel"
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert (await shop.buy(token, sale["sale_id"], qty=1)).status_code == 201


async def test_sale_not_open_before_start_and_after_close(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    later = await shop.new_sale(starts_in_s=3600)
    assert later["status"] == "scheduled"
    early = await shop.buy(shop.viewer(), later["sale_id"])
    assert early.status_code == 409 and early.json()["error"]["code"] == "sale_not_open"
    sale = await shop.new_sale()
    closed = await live_server.as_user(
        shop.host_token, "POST", f"/api/sales/{sale['sale_id']}/close"
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = await shop.buy(shop.viewer(), sale["sale_id"])
    assert late.status_code == 409 and late.json()["error"]["code"] == "sale_not_open"


async def test_sale_ends_after_its_duration(live_server: LiveServer, redis: Redis) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(duration_s=1)
    await redis_clock_passes(redis, sale["ends_at"])
    late = await shop.buy(shop.viewer(), sale["sale_id"])
    assert late.status_code == 409 and late.json()["error"]["code"] == "sale_not_open"

    async def closed() -> bool:
        return bool((await shop.sale(sale["sale_id"]))["status"] == "closed")

    await eventually(closed)


async def test_same_key_same_body_answers_the_same_order(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(per_buyer_limit=2)
    token = shop.viewer()
    first = await shop.buy(token, sale["sale_id"], qty=1, key="k-1")
    again = await shop.buy(token, sale["sale_id"], qty=1, key="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["order_id"] == first.json()["order_id"]
    other_body = await shop.buy(token, sale["sale_id"], qty=2, key="k-1")
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_mismatch"
    # Whatever happened between: after a cancel, the key still answers that order.
    order_id = first.json()["order_id"]
    await live_server.as_user(token, "POST", f"/api/orders/{order_id}/cancel")
    later = await shop.buy(token, sale["sale_id"], qty=1, key="k-1")
    assert later.status_code == 200
    assert (later.json()["order_id"], later.json()["status"]) == (order_id, "cancelled")
    # The key belongs to one buyer: another buyer's same key is a new order.
    other = await shop.buy(shop.viewer(), sale["sale_id"], qty=1, key="k-1")
    assert other.status_code == 201 and other.json()["order_id"] != order_id
    assert (await shop.sale(sale["sale_id"]))["held"] == 1


async def test_pay_and_cancel_rules(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(hold_s=1)
    token = shop.viewer()
    order = (await shop.buy(token, sale["sale_id"])).json()
    path = f"/api/orders/{order['order_id']}"
    stranger = await live_server.as_user(shop.viewer(), "POST", path + "/pay")
    assert stranger.status_code == 403
    paid = await live_server.as_user(token, "POST", path + "/pay")
    again = await live_server.as_user(token, "POST", path + "/pay")
    assert paid.status_code == again.status_code == 200
    assert again.json() == paid.json() and paid.json()["status"] == "paid"
    cancel = await live_server.as_user(token, "POST", path + "/cancel")
    assert cancel.status_code == 409 and cancel.json()["error"]["code"] == "already_paid"

    cancelled = (await shop.buy(token, sale["sale_id"])).json()
    cpath = f"/api/orders/{cancelled['order_id']}"
    by_host = await live_server.as_user(shop.host_token, "POST", cpath + "/cancel")
    assert by_host.status_code == 200 and by_host.json()["status"] == "cancelled"
    late_pay = await live_server.as_user(token, "POST", cpath + "/pay")
    assert late_pay.status_code == 409 and late_pay.json()["error"]["code"] == "order_cancelled"

    # A hold the sweeper let expire: its own buyer can no longer pay it.
    holder = shop.viewer("Bo")
    held = (await shop.buy(holder, sale["sale_id"])).json()

    async def swept() -> bool:
        return await order_status(live_server, holder, held["order_id"]) == "expired"

    await eventually(swept)
    expired = await live_server.as_user(holder, "POST", f"/api/orders/{held['order_id']}/pay")
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "hold_expired"
    assert expired.json()["error"]["message"]
    after = await shop.sale(sale["sale_id"])
    assert (after["left"], after["held"], after["sold"]) == (sale["stock"] - 1, 0, 1)


# The sweeper runs at start-up and then not for an hour: the hold is still `held` past its
# deadline, so the refusal below comes from pay's own check of Redis's clock.
@pytest.mark.parametrize("settings", [make_settings(LIVE_COMMERCE_SWEEP_INTERVAL_MS="3600000")])
async def test_pay_after_the_deadline_is_hold_expired(
    live_server: LiveServer, redis: Redis
) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(hold_s=1, stock=1, per_buyer_limit=1)
    token = shop.viewer()
    order = (await shop.buy(token, sale["sale_id"])).json()
    await redis_clock_passes(redis, order["expires_at"])
    assert await order_status(live_server, token, order["order_id"]) == "held"
    late = await live_server.as_user(token, "POST", f"/api/orders/{order['order_id']}/pay")
    assert late.status_code == 409 and late.json()["error"]["code"] == "hold_expired"
    assert late.json()["error"]["message"]
    assert await order_status(live_server, token, order["order_id"]) == "expired"
    after = await shop.sale(sale["sale_id"])
    assert (after["left"], after["held"], after["sold"], after["status"]) == (1, 0, 0, "open")


async def test_unknown_ids_and_roles(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    for path in ("/api/sales/nope", f"/api/sales/{sale['sale_id']}x", "/api/sales/s_r_x_abcdefgh"):
        assert (await live_server.http.get(path)).status_code == 404, path
    missing = await shop.buy(shop.viewer(), f"s_{shop.room_id}_abcdefghij")
    assert missing.status_code == 404
    anonymous = await live_server.http.post(
        f"/api/sales/{sale['sale_id']}/orders", json={"qty": 1}, headers={"Idempotency-Key": "a"}
    )
    assert anonymous.status_code == 401
    host_buys = await shop.buy(shop.host_token, sale["sale_id"])
    assert host_buys.status_code == 403
    viewer_sells = await live_server.as_user(
        shop.viewer(), "POST", f"/api/rooms/{shop.room_id}/sales", json={"sku": shop.sku}
    )
    assert viewer_sells.status_code == 403
    bad = await live_server.as_user(
        shop.host_token,
        "POST",
        f"/api/rooms/{shop.room_id}/sales",
        json={"sku": shop.sku, "stock": 0},
    )
    assert bad.status_code == 400


async def test_rate_limited_per_buyer_but_not_for_retries(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=100, per_buyer_limit=100)
    token = shop.viewer()
    first = await shop.buy(token, sale["sale_id"], key="same")
    retries = [await shop.buy(token, sale["sale_id"], key="same") for _ in range(10)]
    assert first.status_code == 201 and {r.status_code for r in retries} == {200}
    codes = [(await shop.buy(token, sale["sale_id"])).status_code for _ in range(12)]
    assert 429 in codes
    assert codes.count(201) <= live_server.parts.settings.limits.buys_per_user_per_s


async def test_room_end_closes_its_sales_and_sale_shows_in_room(live_server: LiveServer) -> None:
    shop: Shop = await open_shop(live_server)
    sale = await shop.new_sale()
    listed = await live_server.parts.sales.room_sales(shop.room_id)
    assert [s["sale_id"] for s in listed] == [sale["sale_id"]]
    ended = await live_server.as_user(shop.host_token, "POST", f"/api/rooms/{shop.room_id}/end")
    assert ended.status_code == 200
    assert (await shop.sale(sale["sale_id"]))["status"] == "closed"
    refused = await live_server.as_user(
        shop.host_token,
        "POST",
        f"/api/rooms/{shop.room_id}/sales",
        json={
            "sku": shop.sku,
            "stock": 1,
            "price_cents": 1,
            "per_buyer_limit": 1,
            "hold_s": 1,
            "duration_s": 1,
        },
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "room_ended"


class CountingPayments(InstantPayments):
    """The instant provider, counting what it charged and refunded."""

    def __init__(self) -> None:
        self.charged: list[str] = []
        self.refunded: list[str] = []

    async def charge(self, order: dict[str, Any]) -> PaymentResult:
        result = await super().charge(order)
        self.charged.append(result.payment_id)
        await asyncio.sleep(0.05)  # a real provider takes a while: both pays overlap
        return result

    async def refund(self, payment_id: str, order: dict[str, Any]) -> None:
        self.refunded.append(payment_id)


@pytest.mark.parametrize("app_options", [{"payments": CountingPayments()}])
async def test_two_pays_at_once_charge_the_buyer_once(live_server: LiveServer) -> None:
    payments = live_server.parts.payments
    assert isinstance(payments, CountingPayments)
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    token = shop.viewer()
    order = (await shop.buy(token, sale["sale_id"])).json()
    path = f"/api/orders/{order['order_id']}/pay"
    first, second = await asyncio.gather(
        live_server.as_user(token, "POST", path), live_server.as_user(token, "POST", path)
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["payment_id"] == second.json()["payment_id"]
    # The pay that claimed the order charged it; the other waited for it (one charge).
    assert payments.charged == [first.json()["payment_id"]]
    assert payments.refunded == []
