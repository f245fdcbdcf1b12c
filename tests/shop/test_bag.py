"""The bag: several line-up products in one order, all or nothing, idempotent."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.realtime.client import channel
from tests.shop.helpers import check_invariant, open_shop_room

SIZES = [
    {"variant_id": "s", "label": "S", "stock": 3},
    {"variant_id": "m", "label": "M", "stock": 2, "price_cents": 34900},
]


async def test_a_bag_of_two_products_is_held_paid_and_sold(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(title="Linen shirt", variants=SIZES)
    mug = await shop.add(title="Mug", price_cents=8800, stock=4)
    buyer = shop.viewer()
    answer = await shop.checkout(
        buyer,
        [{"sku": shirt["sku"], "variant_id": "m", "qty": 2}, {"sku": mug["sku"], "qty": 1}],
        key="bag-1",
    )
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "held" and order["sale_id"] is None
    assert [line["amount_cents"] for line in order["lines"]] == [69800, 8800]
    assert order["amount_cents"] == 78600
    shirt_now = await shop.product(shirt["sku"])
    check_invariant(shirt_now)
    assert [v["available"] for v in shirt_now["variants"]] == [3, 0]
    assert shirt_now["available"] == 3
    # The same key answers the same order and takes nothing more.
    again = await shop.checkout(
        buyer,
        [{"sku": shirt["sku"], "variant_id": "m", "qty": 2}, {"sku": mug["sku"], "qty": 1}],
        key="bag-1",
    )
    assert again.status_code == 200 and again.json()["order_id"] == order["order_id"]
    assert (await shop.product(mug["sku"]))["available"] == 3
    paid = await live_server.as_user(buyer, "POST", f"/api/orders/{order['order_id']}/pay")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    mug_now = await shop.product(mug["sku"])
    check_invariant(mug_now)
    assert (mug_now["available"], mug_now["held"], mug_now["sold"]) == (3, 0, 1)


async def test_a_bag_is_all_or_nothing(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(variants=SIZES)
    mug = await shop.add(stock=1)
    answer = await shop.checkout(
        shop.viewer(),
        [{"sku": mug["sku"], "qty": 1}, {"sku": shirt["sku"], "variant_id": "m", "qty": 3}],
    )
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("not_enough_left", "lines[1]")
    assert (await shop.product(mug["sku"]))["available"] == 1


async def test_refusals(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(variants=SIZES)
    elsewhere = await live_server.new_product()
    buyer = shop.viewer()
    no_variant = await shop.checkout(buyer, [{"sku": shirt["sku"], "qty": 1}])
    assert no_variant.status_code == 400
    too_many = await shop.checkout(buyer, [{"sku": shirt["sku"], "variant_id": "s", "qty": 6}])
    assert too_many.status_code == 400
    off_lineup = await shop.checkout(buyer, [{"sku": elsewhere["sku"], "qty": 1}])
    assert off_lineup.status_code == 409
    assert off_lineup.json()["error"]["code"] == "not_in_lineup"
    usd = await shop.add(currency="USD", stock=5)
    mixed = await shop.checkout(
        buyer, [{"sku": usd["sku"], "qty": 1}, {"sku": shirt["sku"], "variant_id": "s", "qty": 1}]
    )
    assert mixed.status_code == 400 and mixed.json()["error"]["code"] == "mixed_currency"
    no_key = await live_server.as_user(
        buyer, "POST", f"/api/rooms/{shop.room_id}/orders", json={"lines": []}
    )
    assert no_key.status_code == 400


async def test_cancel_and_expiry_give_every_line_back(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    a = await shop.add(stock=2)
    b = await shop.add(stock=2)
    buyer = shop.viewer()
    lines = [{"sku": a["sku"], "qty": 2}, {"sku": b["sku"], "qty": 1}]
    order = (await shop.checkout(buyer, lines)).json()
    cancelled = await live_server.as_user(buyer, "POST", f"/api/orders/{order['order_id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await shop.product(a["sku"]))["available"] == 2
    assert (await shop.product(b["sku"]))["available"] == 2
    stock = await live_server.admin("PUT", f"/api/products/{a['sku']}/stock", json={"stock": 0})
    assert stock.status_code == 200 and stock.json()["available"] == 0


async def test_stock_cannot_go_below_what_is_held(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(variants=SIZES)
    await shop.checkout(shop.viewer(), [{"sku": shirt["sku"], "variant_id": "s", "qty": 2}])
    low = await live_server.admin(
        "PUT", f"/api/products/{shirt['sku']}/stock", json={"stock": 1, "variant_id": "s"}
    )
    assert low.status_code == 409 and low.json()["error"]["code"] == "stock_below_held"
    more = await live_server.admin(
        "PUT", f"/api/products/{shirt['sku']}/stock", json={"stock": 10, "variant_id": "s"}
    )
    assert more.status_code == 200
    check_invariant(more.json())
    assert more.json()["variants"][0]["available"] == 8


async def test_the_rooms_host_restocks_its_lineup_and_no_one_else(
    live_server: LiveServer,
) -> None:
    shop = await open_shop_room(live_server)
    shirt = await shop.add(variants=SIZES)
    other = await open_shop_room(live_server)
    elsewhere = await live_server.new_product(stock=1)
    path = f"/api/products/{shirt['sku']}/stock"
    body = {"stock": 7, "variant_id": "m"}
    own = await live_server.as_user(shop.host_token, "PUT", path, json=body)
    assert own.status_code == 200, own.text
    assert [v["stock"] for v in own.json()["variants"]] == [3, 7]
    # Another room's host, a viewer, a product off the host's line-up, nobody: refused.
    for token, sku in (
        (other.host_token, shirt["sku"]),
        (shop.viewer(), shirt["sku"]),
        (shop.host_token, elsewhere["sku"]),
    ):
        answer = await live_server.as_user(
            token, "PUT", f"/api/products/{sku}/stock", json={"stock": 9}
        )
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert (await live_server.http.put(path, json=body)).status_code == 401
    assert [v["stock"] for v in (await shop.product(shirt["sku"]))["variants"]] == [3, 7]


async def test_lineup_shows_availability(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    await shop.add(stock=7)
    lineup = (await live_server.http.get(f"/api/rooms/{shop.room_id}/products")).json()
    assert lineup["products"][0]["available"] == 7


async def test_viewers_hear_lineup_stock_coalesced(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=20)
    watcher = await live_server.new_viewer("Watcher")
    async with channel(live_server.ws_url, shop.room_id, watcher["token"]) as ws:
        await ws.next()
        buyer = shop.viewer()
        for _ in range(10):
            answer = await shop.checkout(buyer, [{"sku": mug["sku"], "qty": 1}])
            assert answer.status_code == 201
        # The latest figure arrives (published at most every 100 ms, the rest by the sweep).
        event = await ws.until(
            lambda e: e["type"] == "lineup_stock" and e["products"][mug["sku"]]["available"] == 10
        )
        assert event["products"][mug["sku"]]["available"] == 10
    heard = [e for e in ws.seen if e["type"] == "lineup_stock"]
    assert len(heard) < 10


async def test_a_restock_reaches_the_rooms_showing_the_product(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=1)
    watcher = await live_server.new_viewer("Watcher")
    async with channel(live_server.ws_url, shop.room_id, watcher["token"]) as ws:
        await ws.next()
        answer = await live_server.admin(
            "PUT", f"/api/products/{mug['sku']}/stock", json={"stock": 9}
        )
        assert answer.status_code == 200
        event = await ws.of_type("lineup_stock")
        assert event["products"][mug["sku"]]["available"] == 9


async def test_checkouts_survive_redis_forgetting_its_scripts(live_server: LiveServer) -> None:
    """Every script of a checkout goes out in one batch; after a SCRIPT FLUSH (a restart)
    each forgotten one is loaded again and its call retried, nothing taken twice."""
    shop = await open_shop_room(live_server)
    products = [await shop.add(stock=5) for _ in range(2)]
    lines = [{"sku": p["sku"], "qty": 1} for p in products]
    buyer = shop.viewer()
    assert (await shop.checkout(buyer, lines)).status_code == 201
    await live_server.parts.redis.script_flush()
    answer = await shop.checkout(buyer, lines)
    assert answer.status_code == 201, answer.text
    for product in products:
        now = await shop.product(product["sku"])
        check_invariant(now)
        assert (now["available"], now["held"]) == (3, 2)
