"""The shop: viewers browse the line-up, fill a bag, check out; most pay, some cancel, some
let the hold run out.

    LIVE_ADMIN_TOKEN=... locust -f loadtests/shop.py --host http://127.0.0.1:8000 \\
        -u 200 -r 50 -t 1m --headless

The server should run with a short `[commerce] bag_hold_s` (LIVE_COMMERCE_BAG_HOLD_S=5) so
abandoned bags expire within the run. When locust quits, the verdict checks
`stock == available + held + sold` for every product and variant, one order per
Idempotency-Key, and that held and sold units are exactly those of the orders in those
states (no line half-taken); it prints `PASS: every invariant holds` or each violation and
sets the exit code.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locust import HttpUser, between, events, task

from loadtests.api import Api
from loadtests.shop_check import shop_violations

SIZES = ["s", "m", "l"]
# Checkouts cut off mid-way are given up by the sweeper after 30 s (INTENT_TIMEOUT_MS).
SETTLE_S = 40.0


class ShopRun:
    """The run's room and what the viewers were answered (one process: no workers)."""

    def __init__(self) -> None:
        self.room_id = ""
        self.host_token = ""
        self.skus: list[str] = []
        self.keys: dict[str, set[str]] = {}
        self.orders: set[str] = set()


Run = ShopRun()
hooks: Any = events  # locust's EventHook.add_listener is untyped


def _admin(host: str) -> Api:
    return Api(host, os.environ["LIVE_ADMIN_TOKEN"])


def set_up(environment: Any, **_: Any) -> None:
    admin = _admin(environment.host)
    run_id = uuid.uuid4().hex[:8]
    room = admin.expect("POST", "/api/rooms", {"title": f"Shop {run_id}", "host_name": "Lin"}, 201)
    Run.room_id, Run.host_token = room["room_id"], room["host_token"]
    host = Api(environment.host, Run.host_token)
    for n in range(3):
        sku = f"shop-{run_id}-{n}"
        variants = [{"variant_id": v, "label": v.upper(), "stock": 40} for v in SIZES]
        product = {
            "sku": sku,
            "title": f"Shirt {n}",
            "price_cents": 32900 + n * 1000,
            "currency": "CNY",
            "variants": variants,
        }
        admin.expect("POST", "/api/products", product, 201)
        host.expect("POST", f"/api/rooms/{Run.room_id}/products", {"sku": sku}, 201)
        Run.skus.append(sku)
    print(f"live-load: room {Run.room_id}", flush=True)


class ShopViewer(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        answer = self.client.post("/api/sessions", json={"name": "Buyer"})
        self.token = answer.json()["token"] if answer.status_code == 201 else ""

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @task(3)
    def browse(self) -> None:
        self.client.get(f"/api/rooms/{Run.room_id}/products", name="/api/rooms/[id]/products")

    @task(5)
    def check_out(self) -> None:
        if not self.token or not Run.skus:
            return
        lines = [
            {"sku": sku, "variant_id": random.choice(SIZES), "qty": random.randint(1, 2)}
            for sku in random.sample(Run.skus, random.randint(1, 3))
        ]
        key = uuid.uuid4().hex
        order = None
        for _ in range(1 + (random.random() < 0.2)):  # some retry with the same key
            with self.client.post(
                f"/api/rooms/{Run.room_id}/orders",
                json={"lines": lines},
                headers={**self.auth(), "Idempotency-Key": key},
                name="/api/rooms/[id]/orders",
                catch_response=True,
            ) as answer:
                if answer.status_code in (200, 201):
                    order = answer.json()
                    Run.keys.setdefault(key, set()).add(order["order_id"])
                    Run.orders.add(order["order_id"])
                    answer.success()
                elif answer.status_code == 409:
                    answer.success()  # not enough left: the bag takes nothing
                else:
                    answer.failure(f"{answer.status_code} {answer.text[:200]}")
        if order is None:
            return
        fate = random.random()
        path = f"/api/orders/{order['order_id']}"
        if fate < 0.7:
            self.client.post(path + "/pay", headers=self.auth(), name="/api/orders/[id]/pay")
        elif fate < 0.85:
            self.client.post(path + "/cancel", headers=self.auth(), name="/api/orders/[id]/cancel")
        # the rest let the hold run out


def _room_orders(admin: Api) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = admin.expect("GET", f"/api/rooms/{Run.room_id}/orders?limit=100{cursor}")
        orders += page["orders"]
        if not page["next"]:
            return orders
        cursor = f"&cursor={page['next']}"


def verdict(environment: Any, **_: Any) -> None:
    if not Run.room_id:
        return
    admin = _admin(environment.host)
    deadline = time.monotonic() + SETTLE_S
    while True:
        # Holds still running are fine; wait only for in-flight steps to be journaled away.
        # The room's own list is the truth: locust stops users mid-request, so an order can
        # be placed whose answer no viewer read.
        orders = _room_orders(admin)
        products = [admin.expect("GET", f"/api/products/{sku}") for sku in Run.skus]
        problems = shop_violations(products, orders, Run.keys)
        listed = {order["order_id"] for order in orders}
        problems += [f"order {oid} answered but not listed" for oid in Run.orders - listed]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}", flush=True)
        environment.process_exit_code = 1
    else:
        print(f"PASS: every invariant holds ({len(Run.orders)} orders)", flush=True)


hooks.test_start.add_listener(set_up)
hooks.quitting.add_listener(verdict)
