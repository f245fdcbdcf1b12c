"""An auction under load: hundreds of bidders on a 30-second auction, with snipes in the
last seconds, then the verdict (loadtests/auction_verdict.py).

    locust -f loadtests/auction.py --host http://127.0.0.1:8000 -u 300 -r 100 --headless

Run it in one process (the verdict needs every bid's answer). The admin token comes from
LIVE_ADMIN_TOKEN; the server should list the loader in `[limits] exempt_networks`.
Environment: AUCTION_DURATION_S (30), AUCTION_EXTEND_S (5), AUCTION_MODE (standard).
The run stops by itself once the auction has ended and the verdict is printed; a broken
verdict exits 1.
"""

import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

from live.commerce.auction_rules import increment_for
from loadtests.api import Api
from loadtests.auction_verdict import AcceptedBid, judge

SNIPE_WINDOW_S = 2.5
# How long the end waits for bids still in flight and for the winner's order to be
# recorded: conditions, polled; this only bounds a run that would otherwise hang.
SETTLE_TIMEOUT_S = 60.0


class Run:
    """The auction of this run and the ledger of accepted bids."""

    def __init__(self) -> None:
        self.opened: dict[str, Any] | None = None
        self.bids: list[AcceptedBid] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.price = 0
        self.least = 0  # the least bid the server last said it would take
        self.ends_at = 0
        self.over = False
        self.in_flight = 0  # bids sent whose answers are not in the ledger yet


RUN = Run()


def _admin(host: str) -> Api:
    return Api(host, os.environ.get("LIVE_ADMIN_TOKEN", ""))


def _open_auction(environment: Any, **_: Any) -> None:
    admin = _admin(environment.host)
    room = admin.expect("POST", "/api/rooms", {"title": "auction load", "host_name": "h"}, 201)
    sku = "auc-" + secrets.token_hex(4)
    product = {"sku": sku, "title": "Cabinet", "price_cents": 50000, "currency": "USD"}
    admin.expect("POST", "/api/products", product, 201)
    body = {
        "sku": sku,
        "start_cents": 1000,
        "duration_s": int(os.environ.get("AUCTION_DURATION_S", "30")),
        "extend_s": int(os.environ.get("AUCTION_EXTEND_S", "5")),
        "mode": os.environ.get("AUCTION_MODE", "standard"),
    }
    RUN.opened = admin.expect("POST", f"/api/rooms/{room['room_id']}/auctions", body, 201)
    RUN.price, RUN.ends_at = RUN.opened["price_cents"], RUN.opened["ends_at"]
    RUN.ready.set()
    gevent.spawn(_watch_end, environment)


def _watch_end(environment: Any) -> None:
    """Poll the auction until the sweepers end it, then judge and stop the run."""
    assert RUN.opened is not None
    api = Api(environment.host)
    auction_id = RUN.opened["auction_id"]
    while True:
        final = api.expect("GET", f"/api/auctions/{auction_id}")
        RUN.ends_at = max(RUN.ends_at, final["ends_at"])
        if final["status"] == "ended":
            break
        gevent.sleep(0.5)
    RUN.over = True  # no new bid from here on
    # Every answer still in flight joins the ledger, and the winner's order is recorded.
    _wait_until(lambda: RUN.in_flight == 0, "bids in flight")
    admin = _admin(environment.host)
    path = f"/api/rooms/{RUN.opened['room_id']}/orders?limit=100"

    def recorded() -> list[dict[str, Any]] | None:
        orders: list[dict[str, Any]] = admin.expect("GET", path)["orders"]
        mine = [o for o in orders if o.get("sale_id") == auction_id]
        return orders if mine or not final.get("winner_id") else None

    orders = _wait_until(recorded, "the winner's order")
    with RUN.lock:
        verdict = judge(RUN.opened, final, list(RUN.bids), orders)
    for line in verdict.lines():
        print(line, flush=True)
    if not verdict.ok:
        environment.process_exit_code = 1
    if environment.runner is not None:
        environment.runner.quit()


def _wait_until(check: Any, what: str) -> Any:
    """Poll `check()` until it answers something truthy (or give up after
    SETTLE_TIMEOUT_S, saying what never came: the verdict then judges what there is)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            if not value:
                print(f"auction run: gave up waiting for {what}", flush=True)
            return value
        gevent.sleep(0.05)


hooks: Any = events  # locust's EventHook.add_listener is untyped
hooks.test_start.add_listener(_open_auction)


class Bidder(HttpUser):
    """Bids one to three increments over the price every second or two, up to a budget; a
    quarter bid by proxy with the budget as max; a fifth are snipers who only bid in the last
    seconds."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if not RUN.ready.wait(60) or RUN.opened is None:
            raise StopUser()
        answer = self.client.post("/api/sessions", json={"name": f"b{secrets.token_hex(3)}"})
        session = answer.json()
        self.user_id = session["user_id"]
        self.headers = {"Authorization": f"Bearer {session['token']}"}
        self.sniper = random.random() < 0.2
        self.proxy = random.random() < 0.25
        # What this bidder will pay at most: bidding stops once the price passes every
        # budget, so the auction ends.
        self.budget = random.randrange(2_000, 30_000, 100)

    @task
    def bid(self) -> None:
        if RUN.over:
            raise StopUser()
        left_s = RUN.ends_at / 1000 - time.time()
        if self.sniper and left_s > SNIPE_WINDOW_S:
            return
        amount = max(RUN.least, RUN.price + increment_for(RUN.price))
        for _ in range(random.randint(0, 2)):
            amount += increment_for(amount)
        if amount > self.budget:
            return
        top = self.budget if self.proxy else amount
        key = secrets.token_hex(8)
        self._send(amount, top, key)
        if random.random() < 0.1:
            self._send(amount, top, key)  # a retry: the same key answers the same bid

    def _send(self, amount: int, top: int, key: str) -> None:
        RUN.in_flight += 1
        try:
            self._bid(amount, top, key)
        finally:
            RUN.in_flight -= 1

    def _bid(self, amount: int, top: int, key: str) -> None:
        assert RUN.opened is not None
        path = f"/api/auctions/{RUN.opened['auction_id']}/bids"
        body = {"amount_cents": amount, "max_cents": top}
        headers = {**self.headers, "Idempotency-Key": key}
        with self.client.post(
            path, json=body, headers=headers, name="/api/auctions/[id]/bids", catch_response=True
        ) as answer:
            if answer.status_code in (200, 201):
                data = answer.json()
                with RUN.lock:
                    if answer.status_code == 201:
                        RUN.bids.append(AcceptedBid(self.user_id, amount, top, data))
                    RUN.price = max(RUN.price, data["price_cents"])
                    RUN.ends_at = max(RUN.ends_at, data["ends_at"])
                answer.success()
                return
            code = (answer.json().get("error") or {}).get("code") if answer.text else None
            if code in ("bid_too_low", "auction_ended"):
                answer.success()  # expected refusals under contention
                if code == "bid_too_low":
                    with RUN.lock:
                        RUN.least = max(RUN.least, answer.json()["error"]["min_cents"])
                return
            answer.failure(f"{answer.status_code} {code}")
