"""Property-based: any sequence of checkout, pay, cancel, expiry, restock and refund keeps
`stock == available + held + sold` for every variant, and the held and sold units are
exactly those of the orders in those states (nothing half-taken, nothing lost)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from live.app import create_app
from live.commerce.aftersale import decide
from live.commerce.inventory import LineRequest, parse_inventory, priced_lines, variant_keys
from live.errors import LiveError
from live.redisdb.client import connect
from live.rooms.model import Room
from tests.conftest import make_settings

if TYPE_CHECKING:
    from tests.redis_server import TestRedis

ROOM = "r_bagprop"
USERS = ("u_a", "u_b", "u_c")
PRODUCTS: dict[str, dict[str, Any]] = {
    "shirt": {
        "sku": "shirt",
        "title": "Shirt",
        "price_cents": 3000,
        "currency": "EUR",
        **parse_inventory(
            {
                "variants": [
                    {"variant_id": "s", "label": "S", "stock": 3},
                    {"variant_id": "m", "label": "M", "stock": 2},
                ]
            }
        ),
    },
    "mug": {
        "sku": "mug",
        "title": "Mug",
        "price_cents": 900,
        "currency": "EUR",
        **parse_inventory({"stock": 4}),
    },
}
STOCK_KEYS = {sku: variant_keys(product) for sku, product in PRODUCTS.items()}
CHOICES = [("shirt", "s"), ("shirt", "m"), ("mug", None)]
SOLD = ("paid", "shipped", "delivered", "return_requested", "partly_refunded", "refunded")

line_st = st.tuples(st.sampled_from(CHOICES), st.integers(1, 3))


class BagMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        config = make_settings()
        self.redis = connect(self.url, config)
        self.svc = create_app(config, self.url).parts
        self.bag = self.svc.bag
        self.orders: list[str] = []
        self.restocked: set[tuple[str, int]] = set()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def open_room(self) -> None:
        svc = self.svc
        self.run(svc.rooms.create(Room(ROOM, "t", "h", "h_1", "open", False, svc.clock.now_ms())))
        for product in PRODUCTS.values():
            self.run(svc.catalog.create(dict(product), svc.clock.now_ms()))
            self.run(self.bag.init_product(product))
            self.run(
                svc.rooms.add_to_lineup(
                    ROOM, product["sku"], svc.clock.now_ms(), orjson.dumps(product)
                )
            )

    async def order(self, order_id: str) -> dict[str, Any]:
        raw = await self.redis.get(self.svc.keys.order(ROOM, order_id))
        decoded: dict[str, Any] = orjson.loads(raw)
        return decoded

    def pick(self, index: int) -> dict[str, Any] | None:
        if not self.orders:
            return None
        stored = self.run(self.order(self.orders[index % len(self.orders)]))
        order: dict[str, Any] = self.run(self.bag.get(stored))
        return order

    @rule(
        user=st.sampled_from(USERS),
        lines=st.lists(line_st, min_size=1, max_size=3),
        key=st.sampled_from("abcd"),
        path=st.sampled_from(("one_script", "stepped", "stepped_general")),
    )
    def checkout(self, user: str, lines: list[Any], key: str, path: str) -> None:
        requests = [LineRequest(sku, variant, qty) for (sku, variant), qty in lines]
        try:
            priced = priced_lines(requests, PRODUCTS)
            # Every path, mixed in one sequence: the whole checkout in one script
            # (bag_checkout.lua), and the stepped one with inv_reserve.lua (the product's
            # variants known, as the HTTP checkout does) or inv.lua's general reserve.
            known = None if path == "stepped_general" else STOCK_KEYS
            self.bag.one_script = path == "one_script"
            checkout = self.bag.checkout(ROOM, user, key, requests, priced, "EUR", None, known)
            outcome = self.run(checkout)
        except LiveError as exc:
            assert exc.code in ("not_enough_left", "bad_request", "idempotency_mismatch"), exc
            return
        if outcome.created:
            assert outcome.order["order_id"] not in self.orders
            self.orders.append(outcome.order["order_id"])
        else:
            assert outcome.order["order_id"] in self.orders

    @rule(index=st.integers(0, 99))
    def pay(self, index: int) -> None:
        order = self.pick(index)
        if order is None:
            return
        try:
            paid = self.run(self.bag.pay(order, "pay_1"))
        except LiveError as exc:
            wanted = "bad_transition" if order["status"] in SOLD else "gone"
            if order["status"] in ("cancelled", "expired"):
                wanted = "order_cancelled" if order["status"] == "cancelled" else "hold_expired"
            assert exc.code == wanted, (exc.code, order["status"])
            return
        assert order["status"] in ("held", "paid") and paid["status"] == "paid"

    @rule(index=st.integers(0, 99))
    def cancel(self, index: int) -> None:
        order = self.pick(index)
        if order is None:
            return
        try:
            self.run(self.bag.cancel(order))
        except LiveError:
            assert order["status"] != "held"
            return
        assert order["status"] in ("held", "cancelled")

    @rule(index=st.integers(0, 99))
    def expire(self, index: int) -> None:
        """Let one hold's deadline pass, then sweep (as the sweeper would)."""
        order = self.pick(index)
        if order is None:
            return
        self.run(self.age_hold(order["order_id"]))
        self.run(self.bag.sweep(ROOM))
        if order["status"] == "held":
            assert self.run(self.order(order["order_id"]))["status"] == "expired"

    async def age_hold(self, order_id: str) -> None:
        key = self.svc.keys.order(ROOM, order_id)
        stored = await self.order(order_id)
        if stored["status"] == "held":
            stored["expires_at"] = 0
            await self.redis.set(key, orjson.dumps(stored), keepttl=True)
            await self.redis.zadd(self.bag.shop_keys.bag_holds(ROOM), {order_id: 0})

    @rule(choice=st.sampled_from(CHOICES), stock=st.integers(0, 8))
    def restock(self, choice: tuple[str, str | None], stock: int) -> None:
        sku, variant = choice
        try:
            self.run(self.bag.set_stock(PRODUCTS[sku], variant or "_", stock))
        except LiveError as exc:
            assert exc.code == "stock_below_held"

    @rule(index=st.integers(0, 99), restock=st.booleans(), some=st.booleans())
    def refund(self, index: int, restock: bool, some: bool) -> None:
        order = self.pick(index)
        if order is None:
            return
        params: dict[str, Any] = {"restock": restock}
        open_lines = [i for i, line in enumerate(order["lines"]) if not line.get("refunded")]
        if some and open_lines:
            params["lines"] = open_lines[:1]
        try:
            decision = decide(order, "refund", params, now_ms=0, return_days=14)
            self.run(self.bag.apply(order, decision))
        except LiveError as exc:
            assert exc.code == "bad_transition" and order["status"] not in SOLD[:-1], exc
            return
        if restock:
            chosen = params.get("lines", open_lines)
            self.restocked |= {(order["order_id"], i) for i in chosen}

    @invariant()
    def units_add_up(self) -> None:
        if not hasattr(self, "bag"):
            return
        counts = self.run(self.bag.counts(list(PRODUCTS)))
        orders = [self.run(self.order(oid)) for oid in self.orders]
        for sku, variant in CHOICES:
            c = counts[sku][variant or "_"]
            assert c["stock"] == c["available"] + c["held"] + c["sold"], (sku, variant, c)
            assert min(c["available"], c["held"], c["sold"]) >= 0, c
            held = sold = 0
            for order in orders:
                for i, line in enumerate(order["lines"]):
                    if (line["sku"], line["variant_id"]) != (sku, variant):
                        continue
                    if order["status"] == "held":
                        held += line["qty"]
                    elif order["status"] in SOLD and (order["order_id"], i) not in self.restocked:
                        sold += line["qty"]
            assert (c["held"], c["sold"]) == (held, sold), (sku, variant, c, held, sold)

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()


def test_bag_invariant_holds_for_any_sequence(redis_server: TestRedis) -> None:
    BagMachine.url = redis_server.url
    run_state_machine_as_test(
        BagMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
