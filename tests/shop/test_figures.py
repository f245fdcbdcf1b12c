"""The host's figures from real orders, against a hand-computed example."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer
from tests.shop.helpers import ShopRoom, open_shop_room
from tests.shop.test_after_sale import viewer_with_id


async def buy(shop: ShopRoom, token: str, sku: str, qty: int) -> dict[str, Any]:
    order = (await shop.checkout(token, [{"sku": sku, "qty": qty}])).json()
    paid = await shop.server.as_user(token, "POST", f"/api/orders/{order['order_id']}/pay")
    assert paid.status_code == 200, paid.text
    result: dict[str, Any] = paid.json()
    return result


async def test_room_and_host_figures(live_server: LiveServer) -> None:
    first = await open_shop_room(live_server, host_id="lin")
    item = await first.add(price_cents=10000, stock=100)
    x, y, z, w = (viewer_with_id(first, f"u_fig_{n}") for n in "xyzw")
    await buy(first, x, item["sku"], 1)  # 100.00
    await buy(first, y, item["sku"], 2)  # 200.00
    second = await open_shop_room(live_server, host_id="lin")
    answer = await live_server.as_user(
        second.host_token,
        "POST",
        f"/api/rooms/{second.room_id}/products",
        json={"sku": item["sku"]},
    )
    assert answer.status_code == 201
    second.skus.append(item["sku"])
    await buy(second, x, item["sku"], 3)  # 300.00, x bought in the first show too
    returned = await buy(second, z, item["sku"], 1)  # 100.00, then asks to return it
    await second.checkout(w, [{"sku": item["sku"], "qty": 1}])  # held, never paid
    ret = await second.step(z, returned["order_id"], "return", reason="not for me")
    assert ret.status_code == 200, ret.text

    stats = (await live_server.admin("GET", f"/api/rooms/{second.room_id}/stats")).json()
    # Two paid orders of 400.00: AOV 200.00; x is the one repeat buyer of two; one return.
    assert (stats["orders"], stats["gmv_cents"], stats["aov_cents"]) == (2, 40000, 20000)
    assert (stats["repeat_buyers"], stats["repeat_buyer_rate"]) == (1, 0.5)
    assert (stats["returns"], stats["return_rate"]) == (1, 0.5)
    first_stats = (await live_server.admin("GET", f"/api/rooms/{first.room_id}/stats")).json()
    assert (first_stats["aov_cents"], first_stats["repeat_buyers"]) == (15000, 0)

    host = await live_server.as_user(second.host_token, "GET", "/api/hosts/lin/stats")
    assert host.status_code == 200, host.text
    figures = host.json()
    # Four paid orders of 700.00 over two shows; buyers x, y, z of whom x came back.
    assert (figures["rooms"], figures["orders"], figures["gmv_cents"]) == (2, 4, 70000)
    assert figures["aov_cents"] == 17500
    assert (figures["repeat_buyers"], figures["repeat_buyer_rate"]) == (1, 0.3333)
    assert (figures["returns"], figures["return_rate"]) == (1, 0.25)
    other_host = await open_shop_room(live_server, host_id="someone-else")
    refused = await live_server.as_user(other_host.host_token, "GET", "/api/hosts/lin/stats")
    assert refused.status_code == 403
    export = await live_server.admin("GET", f"/api/rooms/{second.room_id}/orders/export")
    assert export.status_code == 200
    assert "return_requested" in export.text and f"{item['sku']} x 3 @ 10000" in export.text
