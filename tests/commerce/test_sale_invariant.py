"""Property-based: any sequence of buy, pay, cancel, expire and close keeps
`stock == left + held + sold`, the per-buyer limit, and one order per Idempotency-Key."""

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
from live.commerce.rules import parse_sale_request
from live.errors import LiveError
from live.rooms.model import Room
from tests.conftest import make_settings

if TYPE_CHECKING:
    from tests.redis_server import TestRedis

STOCK = 6
LIMIT = 3
USERS = ("u_a", "u_b", "u_c")


class SaleMachine(RuleBasedStateMachine):
    """Drives one sale through the store against real Redis and keeps a model beside it."""

    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        config = make_settings(LIVE_LIMITS_BUYS_PER_USER_PER_S="1000000")
        self.svc = create_app(config, self.url).parts
        self.redis = self.svc.redis
        self.worker = self.svc.sale_worker
        self.orders: dict[str, dict[str, Any]] = {}  # order_id -> model order
        self.keys: dict[tuple[str, str], tuple[str, int]] = {}  # (user, key) -> (order, qty)
        self.closed = False

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def open_sale(self) -> None:
        svc = self.svc
        room = Room("r_prop", "t", "h", "h_1", "open", False, svc.clock.now_ms())
        self.run(svc.rooms.create(room))
        request = parse_sale_request(
            {
                "sku": "mug",
                "stock": STOCK,
                "price_cents": 700,
                "per_buyer_limit": LIMIT,
                "hold_s": 600,
                "duration_s": 600,
            },
            svc.settings.commerce,
        )
        product = {"title": "Mug", "currency": "EUR"}
        self.sale_id = self.run(svc.sales.create("r_prop", request, product))["sale_id"]

    def units(self, user: str | None = None, statuses: tuple[str, ...] = ("held", "paid")) -> int:
        return sum(
            o["qty"]
            for o in self.orders.values()
            if o["status"] in statuses and (user is None or o["user_id"] == user)
        )

    def expected_buy(self, user: str, qty: int) -> str:
        if self.closed:
            return "sale_not_open"
        if qty > LIMIT:
            return "bad_request"
        left = STOCK - self.units()
        if left == 0:
            return "sold_out"
        if left < qty:
            return "not_enough_left"
        if self.units(user) + qty > LIMIT:
            return "limit_reached"
        return "created"

    @rule(user=st.sampled_from(USERS), qty=st.integers(1, 4), key=st.sampled_from("abcdef"))
    def buy(self, user: str, qty: int, key: str) -> None:
        prior = self.keys.get((user, key))
        if prior is not None:
            expected = "replay" if prior[1] == qty else "idempotency_mismatch"
        else:
            expected = self.expected_buy(user, qty)
        try:
            outcome = self.run(self.svc.sales.buy(self.sale_id, user, key, qty, None))
        except LiveError as exc:
            assert exc.code == expected, (exc.code, expected)
            return
        assert expected == ("created" if outcome.created else "replay"), expected
        order = outcome.order
        if prior is not None:
            assert order["order_id"] == prior[0]
            assert order["status"] == self.orders[prior[0]]["status"]
        else:
            self.keys[(user, key)] = (order["order_id"], qty)
            self.orders[order["order_id"]] = {"user_id": user, "qty": qty, "status": "held"}

    def pick(self, index: int) -> str | None:
        """The index-th order taken so far (in the order they were taken)."""
        if not self.orders:
            return None
        return list(self.orders)[index % len(self.orders)]

    @rule(index=st.integers(0, 99))
    def pay(self, index: int) -> None:
        order_id = self.pick(index)
        if order_id is None:
            return
        model = self.orders[order_id]
        expected = {"held": "paid", "paid": "paid"}.get(model["status"])
        order = self.run(self.svc.sales.get_order(order_id))
        try:
            paid = self.run(self.svc.sales.pay(order, "pay_1"))
        except LiveError as exc:
            wanted = {"cancelled": "order_cancelled", "expired": "hold_expired"}
            assert exc.code == wanted[model["status"]]
            return
        assert expected == paid["status"] == "paid"
        model["status"] = "paid"

    @rule(index=st.integers(0, 99), by_host=st.booleans())
    def cancel(self, index: int, by_host: bool) -> None:
        order_id = self.pick(index)
        if order_id is None:
            return
        model = self.orders[order_id]
        order = self.run(self.svc.sales.get_order(order_id))
        by = None if by_host else model["user_id"]
        try:
            cancelled = self.run(self.svc.sales.cancel(order, by))
        except LiveError as exc:
            wanted = {"paid": "already_paid", "expired": "hold_expired"}
            assert exc.code == wanted[model["status"]]
            return
        assert model["status"] in ("held", "cancelled") and cancelled["status"] == "cancelled"
        model["status"] = "cancelled"

    @rule(index=st.integers(0, 99))
    def expire(self, index: int) -> None:
        """Let one hold's deadline pass, then sweep (as a worker would)."""
        order_id = self.pick(index)
        if order_id is None:
            return
        self.run(self.age_hold(order_id))
        self.run(self.worker.tick())
        if self.orders[order_id]["status"] == "held":
            self.orders[order_id]["status"] = "expired"

    async def age_hold(self, order_id: str) -> None:
        key = self.svc.keys.order("r_prop", order_id)
        order = orjson.loads(await self.redis.get(key))
        if order["status"] == "held":
            order["expires_at"] = 0
            await self.redis.set(key, orjson.dumps(order), keepttl=True)
            await self.redis.zadd(self.svc.keys.sale_holds("r_prop", self.sale_id), {order_id: 0})

    @rule()
    def close(self) -> None:
        sale = self.run(self.svc.sales.close(self.sale_id))
        assert sale["status"] == "closed"
        self.closed = True

    @invariant()
    def stock_adds_up(self) -> None:
        if not hasattr(self, "sale_id"):
            return
        sale = self.run(self.svc.sales.get(self.sale_id))
        assert sale["stock"] == sale["left"] + sale["held"] + sale["sold"] == STOCK
        assert sale["held"] == self.units(statuses=("held",))
        assert sale["sold"] == self.units(statuses=("paid",))
        buyers = self.run(self.redis.hgetall(self.svc.keys.sale_buyers("r_prop", self.sale_id)))
        counted = {user.decode(): int(n) for user, n in buyers.items()}
        for user in USERS:
            assert counted.get(user, 0) == self.units(user) <= LIMIT
        if not self.closed:
            assert sale["status"] == ("sold_out" if sale["left"] == 0 else "open")

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()


def test_sale_invariant_holds_for_any_sequence(redis_server: TestRedis) -> None:
    SaleMachine.url = redis_server.url
    run_state_machine_as_test(
        SaleMachine,
        settings=settings(
            max_examples=120,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
