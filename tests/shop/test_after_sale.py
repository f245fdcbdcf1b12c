"""Made-to-order queues, shipping details, and every step after payment with its refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from live.auth import Identity, Role
from tests.conftest import LiveServer
from tests.realtime.client import channel
from tests.shop.helpers import ShopRoom, check_invariant, open_shop_room

DAY_MS = 86_400_000
ADDRESS = {
    "name": "Mei Chen",
    "phone": "+86 138 0000 0000",
    "address": "1 Linen Lane",
    "postcode": "200000",
    "country": "cn",
}


def viewer_with_id(shop: ShopRoom, user_id: str) -> str:
    svc = shop.server.parts
    return svc.authenticator.issue(Identity(Role.VIEWER, user_id, user_id), ttl_s=3600)


def day(ms: int, plus_days: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000 + plus_days * 86400, tz=dt.UTC).date().isoformat()


async def order_of(shop: ShopRoom, token: str, order_id: str) -> dict[str, Any]:
    answer = await shop.server.as_user(token, "GET", f"/api/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    order: dict[str, Any] = answer.json()
    return order


async def test_made_to_order_queue_positions_and_ship_by_straddle_weeks(
    live_server: LiveServer,
) -> None:
    shop = await open_shop_room(live_server)
    felt = await shop.add(title="Felt pet", made_to_order={"per_week": 3, "lead_days": 14})
    buyers = [shop.viewer(f"b{i}") for i in range(3)]
    orders = []
    for buyer in buyers:
        answer = await shop.checkout(buyer, [{"sku": felt["sku"], "qty": 2}])
        assert answer.status_code == 201, answer.text
        orders.append(answer.json())
    # Units 1-2, 3-4, 5-6 at three a week: the first ships after the lead time, the second
    # and third (last units 4 and 6) a week later.
    lines = [o["lines"][0] for o in orders]
    assert [line["queue_position"] for line in lines] == [1, 3, 5]
    placed = [o["created_at"] for o in orders]
    assert [line["ships_by"] for line in lines] == [
        day(placed[0], 14),
        day(placed[1], 21),
        day(placed[2], 21),
    ]
    product = await shop.product(felt["sku"])
    assert product["queue"] == 6 and product["available"] is None
    # The next unit ordered would be the seventh: its week is the third.
    assert product["next_ships_by"] == day(placed[2], 14 + 14)
    # The first buyer cancels: everyone behind moves up, and so do their ship-by dates.
    cancel = await live_server.as_user(
        buyers[0], "POST", f"/api/orders/{orders[0]['order_id']}/cancel"
    )
    assert cancel.status_code == 200, cancel.text
    second = (await order_of(shop, buyers[1], orders[1]["order_id"]))["lines"][0]
    third = (await order_of(shop, buyers[2], orders[2]["order_id"]))["lines"][0]
    assert (second["queue_position"], second["ships_by"]) == (1, day(placed[1], 14))
    assert (third["queue_position"], third["ships_by"]) == (3, day(placed[2], 21))
    assert (await shop.product(felt["sku"]))["queue"] == 4


async def test_every_step_after_payment_and_its_refusals(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(
        variants=[{"variant_id": "m", "label": "M", "stock": 5}], price_cents=32900
    )
    mug = await shop.add(price_cents=8800, stock=5)
    buyer = await live_server.new_viewer("Mei")
    token = buyer["token"]
    other = shop.viewer("Other")
    lines = [{"sku": shirt["sku"], "variant_id": "m", "qty": 1}, {"sku": mug["sku"], "qty": 2}]
    async with channel(live_server.ws_url, shop.room_id, token) as ws:
        await ws.next()
        order = (await shop.checkout(token, lines)).json()
        oid = order["order_id"]
        # Shipping: only the buyer, only before payment; staff see it, others do not.
        refused = await live_server.as_user(
            other, "PUT", f"/api/orders/{oid}/shipping", json=ADDRESS
        )
        assert refused.status_code == 403
        put = await live_server.as_user(token, "PUT", f"/api/orders/{oid}/shipping", json=ADDRESS)
        assert put.status_code == 200 and put.json()["shipping"]["country"] == "CN"
        assert (await live_server.as_user(other, "GET", f"/api/orders/{oid}")).status_code == 403
        staff_view = await live_server.as_user(shop.host_token, "GET", f"/api/orders/{oid}")
        assert staff_view.json()["shipping"]["name"] == "Mei Chen"
        # Before payment, nothing after-sale applies.
        for action, who in (("ship", shop.host_token), ("refund", shop.host_token)):
            early = await shop.step(who, oid, action, carrier="SF", tracking="1")
            assert early.status_code == 409 and early.json()["error"]["code"] == "bad_transition"
        paid = await live_server.as_user(token, "POST", f"/api/orders/{oid}/pay")
        assert paid.status_code == 200 and paid.json()["status"] == "paid"
        late = await live_server.as_user(token, "PUT", f"/api/orders/{oid}/shipping", json=ADDRESS)
        assert late.status_code == 409
        assert (await shop.step(shop.host_token, oid, "deliver")).status_code == 409
        assert (await shop.step(token, oid, "ship", carrier="SF", tracking="1")).status_code == 403
        shipped = await shop.step(shop.host_token, oid, "ship", carrier="SF", tracking="SF123")
        assert shipped.status_code == 200, shipped.text
        assert (shipped.json()["status"], shipped.json()["tracking"]) == ("shipped", "SF123")
        event = await ws.until(lambda e: e["type"] == "order" and e["order"]["status"] == "shipped")
        assert event["order"]["carrier"] == "SF"
        again = await shop.step(shop.host_token, oid, "ship", carrier="SF", tracking="2")
        assert again.status_code == 409
        delivered = await shop.step(shop.host_token, oid, "deliver")
        assert delivered.json()["status"] == "delivered"
        assert (await shop.step(other, oid, "return", reason="x")).status_code == 403
        returned = await shop.step(token, oid, "return", reason="too small")
        assert returned.json()["status"] == "return_requested"
        # Refund the shirt only, back on the shelf; then the rest.
        part = await shop.step(shop.host_token, oid, "refund", lines=[0], restock=True)
        assert part.status_code == 200, part.text
        assert part.json()["status"] == "partly_refunded"
        assert part.json()["refunded_cents"] == 32900
        shirt_now = await shop.product(shirt["sku"])
        check_invariant(shirt_now)
        assert shirt_now["variants"][0]["available"] == 5
        rest = await shop.step(shop.host_token, oid, "refund")
        assert rest.json()["status"] == "refunded"
        mug_now = await shop.product(mug["sku"])
        check_invariant(mug_now)
        assert (mug_now["available"], mug_now["sold"]) == (3, 2)  # not restocked
        final = await shop.step(shop.host_token, oid, "refund")
        assert final.status_code == 409
        await ws.until(lambda e: e["type"] == "order" and e["order"]["status"] == "refunded")
    mine = await live_server.as_user(token, "GET", "/api/me/orders")
    assert mine.status_code == 200
    assert [o["order_id"] for o in mine.json()["orders"]] == [oid]
    assert mine.json()["orders"][0]["tracking"] == "SF123"
