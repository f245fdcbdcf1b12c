"""A flash-sale order goes through the same after-sale steps; its record and the room's
totals stay right even when the host ships before the record caught up."""

from __future__ import annotations

from tests.commerce.helpers import eventually, open_shop
from tests.conftest import LiveServer


async def test_a_sale_order_is_shipped_refunded_and_counted_once(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=5)
    buyer = shop.viewer()
    order = (await shop.buy(buyer, sale["sale_id"], qty=2)).json()
    oid = order["order_id"]
    assert order["lines"][0]["qty"] == 2
    paid = await live_server.as_user(buyer, "POST", f"/api/orders/{oid}/pay")
    assert paid.status_code == 200
    shipped = await live_server.as_user(
        shop.host_token,
        "POST",
        f"/api/orders/{oid}/ship",
        json={"carrier": "SF", "tracking": "SF9"},
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    refunded = await live_server.as_user(shop.host_token, "POST", f"/api/orders/{oid}/refund")
    assert refunded.json()["status"] == "refunded"

    async def recorded() -> dict[str, object] | None:
        answer = await live_server.admin("GET", f"/api/rooms/{shop.room_id}/orders")
        orders = answer.json()["orders"]
        return orders[0] if orders and orders[0]["status"] == "refunded" else None

    record = await eventually(recorded)
    assert record["tracking"] == "SF9"
    stats = (await live_server.admin("GET", f"/api/rooms/{shop.room_id}/stats")).json()
    assert (stats["orders"], stats["units_sold"]) == (1, 2)
    left = (await shop.sale(sale["sale_id"]))["sold"]
    assert left == 2  # a sale's units are its own: a refund does not restock them
