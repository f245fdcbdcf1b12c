"""The bag on a Redis Cluster: a bag whose products sit on other slots than the room takes
the stepped path (begin, reserves, commit); a bag whose every key shares the room's slot
is one script, as on one Redis. Either way all or nothing, idempotent, never oversold."""

from __future__ import annotations

from typing import Any, NoReturn

from redis.crc import key_slot

from tests.conftest import LiveServer
from tests.shop.helpers import check_invariant, open_shop_room


class PathNotExpected(Exception):
    pass


def refuse(keys: list[str], args: list[Any]) -> NoReturn:
    raise PathNotExpected(keys[0])


def sku_on_slot(server: LiveServer, slot: int) -> str:
    """A sku whose product keys hash to `slot`."""
    shop_keys = server.parts.bag.shop_keys
    for n in range(1_000_000):
        sku = f"slotmate-{n}"
        if key_slot(shop_keys.inventory(sku)[0].encode()) == slot:
            return sku
    raise AssertionError("no sku found")


async def test_bags_across_slots_are_stepped_and_bags_on_one_slot_are_one_script(
    cluster_server: LiveServer,
) -> None:
    bag = cluster_server.parts.bag
    shop = await open_shop_room(cluster_server)
    sizes = [
        {"variant_id": "s", "label": "S", "stock": 2},
        {"variant_id": "m", "label": "M", "stock": 1},
    ]
    shirt = await shop.add(variants=sizes)
    mug = await shop.add(stock=3)
    room_slot = key_slot(cluster_server.parts.keys.room(shop.room_id).encode())
    mate = await shop.add(sku=sku_on_slot(cluster_server, room_slot), stock=2)
    buyer = shop.viewer()
    two_slots = [{"sku": shirt["sku"], "variant_id": "m", "qty": 1}, {"sku": mug["sku"], "qty": 2}]

    bag.steps.whole = refuse  # type: ignore[method-assign]
    first = await shop.checkout(buyer, two_slots, key="b1")
    assert first.status_code == 201, first.text
    again = await shop.checkout(buyer, two_slots, key="b1")
    assert again.status_code == 200 and again.json()["order_id"] == first.json()["order_id"]
    short = await shop.checkout(
        buyer, [{"sku": mug["sku"], "qty": 1}, {"sku": shirt["sku"], "variant_id": "m", "qty": 1}]
    )
    assert short.status_code == 409 and short.json()["error"]["field"] == "lines[1]"
    # The room's slot and another product's: stepped too.
    mixed = await shop.checkout(
        buyer, [{"sku": mate["sku"], "qty": 1}, {"sku": mug["sku"], "qty": 1}]
    )
    assert mixed.status_code == 201, mixed.text
    del bag.steps.whole

    bag.steps.begin = refuse  # type: ignore[method-assign]
    bag.steps.commit = refuse  # type: ignore[method-assign]
    once = await shop.checkout(buyer, [{"sku": mate["sku"], "qty": 1}], key="b2")
    assert once.status_code == 201, once.text
    replay = await shop.checkout(buyer, [{"sku": mate["sku"], "qty": 1}], key="b2")
    assert replay.status_code == 200 and replay.json()["order_id"] == once.json()["order_id"]
    sold_out = await shop.checkout(buyer, [{"sku": mate["sku"], "qty": 1}])
    assert sold_out.status_code == 409 and sold_out.json()["error"]["left"] == 0
    del bag.steps.begin, bag.steps.commit

    for product, taken in ((shirt, 1), (mug, 3), (mate, 2)):
        now = await shop.product(product["sku"])
        check_invariant(now)
        rows = now.get("variants") or [now]
        assert sum(row["held"] for row in rows) == taken, now
