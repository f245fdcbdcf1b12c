"""The people in a show: viewers who watch, chat, like and buy, and the host.

Each locustfile imports the classes it runs; locust runs every User class it finds there.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import gevent
from gevent.queue import Empty, Queue
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.channel import RoomChannel
from loadtests.common import STATE, Show, wait_for_show
from loadtests.frames import Event, sales_offered
from loadtests.timeline import BUY_WINDOW_S

EXPECTED_BUY = frozenset({"sold_out", "limit_reached", "not_enough_left", "sale_not_open"})
EXPECTED_PAY = frozenset({"hold_expired"})
RETRY_SAME_KEY_P = 0.25  # a client that timed out and sends the same request again
PAY_P = 0.6
CANCEL_P = 0.1
BUY_AGAIN_P = 0.2  # a second purchase with a new key (often answered limit_reached)
BUY_PATH = "/api/sales/[sale_id]/orders"


def error_code(response: Any) -> str | None:
    try:
        body = response.json()
    except Exception:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class ChannelUser(FastHttpUser):
    """A user with a token and a websocket to the run's room."""

    abstract = True
    channel: RoomChannel | None = None
    show: Show
    token: str | None = None

    def join_room(self) -> bool:
        """Open the channel; a failed handshake is reported, and the caller retries later."""
        channel = RoomChannel(
            self.environment,
            STATE.ledger,
            self.host or "",
            self.show.room_id,
            self.token,
            self.on_room_event,
            STATE.sources.next(),
        )
        self.channel = channel if channel.open() else None
        return self.channel is not None

    def on_room_event(self, event: Event) -> None:
        """Called from the reader greenlet for each event; keep it quick."""

    def on_stop(self) -> None:
        if self.channel is not None:
            self.channel.close()

    def auth(self, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **headers}


class Viewer(ChannelUser):
    """Watches, likes and chats at a viewer's pace, and buys when a sale opens."""

    weight = 10
    wait_time = constant(0)  # `watch` waits itself, so a sale wakes it at once
    actions: tuple[tuple[str, int], ...] = (("like", 6), ("chat", 1), ("ping", 1), ("idle", 2))
    pause_s = (1.0, 5.0)

    def on_start(self) -> None:
        self.show = wait_for_show()
        self.offers: Queue[Event] = Queue()
        self.tries: dict[str, int] = {}
        self.answers: dict[str, str] = {}  # idempotency key -> the order it was answered with
        self.user_id = ""
        self.enter()

    def enter(self) -> bool:
        """Take a session and join the room, as far as the server lets it."""
        if self.token is None:
            with self.client.post(
                "/api/sessions",
                json={"name": f"viewer-{random.randrange(10**6)}"},
                catch_response=True,
            ) as answer:
                if answer.status_code != 201:
                    answer.failure(f"{answer.status_code} {error_code(answer)}")
                    return False
                session = answer.json()
            self.token, self.user_id = session["token"], session["user_id"]
        return self.channel is not None or self.join_room()

    def on_room_event(self, event: Event) -> None:
        for sale in sales_offered(event):
            self.offers.put(sale)

    @task
    def watch(self) -> None:
        if self.channel is None or not self.channel.alive:
            # The last try to enter failed, or the channel gave up: pause, try again.
            self.channel = None
            gevent.sleep(random.uniform(1.0, 3.0))
            self.enter()
            return
        try:
            sale = self.offers.get(timeout=random.uniform(*self.pause_s))
        except Empty:
            self.act()
            return
        self.shop(sale)

    def act(self) -> None:
        names = [name for name, _ in self.actions]
        action = random.choices(names, [weight for _, weight in self.actions])[0]
        assert self.channel is not None
        if action == "like":
            self.channel.send({"type": "like"})
        elif action == "chat":
            self.channel.send({"type": "chat", "text": random.choice(CHAT_LINES)})
        elif action == "ping":
            self.channel.ping()

    # -- buying

    def shop(self, sale: Event) -> None:
        """Buy within the crowd's window; sometimes retry, pay, cancel or buy again."""
        sale_id = str(sale["sale_id"])
        tries = self.tries.get(sale_id, 0)
        if tries >= 2:
            return
        self.tries[sale_id] = tries + 1
        gevent.sleep(random.uniform(0, BUY_WINDOW_S))
        limit = int(sale.get("per_buyer_limit") or 1)
        qty = 2 if limit >= 2 and random.random() < 0.3 else 1
        key = uuid.uuid4().hex
        order = self.buy(sale_id, qty, key)
        if random.random() < RETRY_SAME_KEY_P:
            gevent.sleep(0.3)
            again = self.buy(sale_id, qty, key)
            order = order or again
        if order is None:
            return
        roll = random.random()
        if roll < PAY_P:
            gevent.sleep(random.uniform(0.2, 1.0))
            self.settle(order, "pay")
        elif roll < PAY_P + CANCEL_P:
            self.settle(order, "cancel")
        if random.random() < BUY_AGAIN_P:
            gevent.sleep(0.3)
            self.buy(sale_id, 1, uuid.uuid4().hex)

    def buy(self, sale_id: str, qty: int, key: str) -> dict[str, Any] | None:
        """One order request; expected refusals count as successes, named by their code."""
        STATE.ledger.note_key(key, self.user_id, sale_id)
        with self.client.post(
            f"/api/sales/{sale_id}/orders",
            json={"qty": qty},
            headers=self.auth(**{"Idempotency-Key": key}),
            name=BUY_PATH,
            catch_response=True,
        ) as answer:
            code = error_code(answer)
            if answer.status_code in (200, 201):
                order: dict[str, Any] = answer.json()
                STATE.ledger.note_order(key, self.user_id, sale_id, order["order_id"])
                first = self.answers.setdefault(key, order["order_id"])
                if first != order["order_id"]:
                    answer.failure(f"key {key} answered {first}, then {order['order_id']}")
                return order
            if answer.status_code == 409 and code in EXPECTED_BUY:
                answer.request_meta["name"] = f"{BUY_PATH} ({code})"
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {code}")
        return None

    def settle(self, order: dict[str, Any], action: str) -> None:
        with self.client.post(
            f"/api/orders/{order['order_id']}/{action}",
            headers=self.auth(),
            name=f"/api/orders/[order_id]/{action}",
            catch_response=True,
        ) as answer:
            code = error_code(answer)
            if answer.status_code == 200:
                return
            if answer.status_code == 409 and code in EXPECTED_PAY:
                answer.request_meta["name"] += f" ({code})"
                answer.success()
            else:
                answer.failure(f"{answer.status_code} {code}")


class Host(ChannelUser):
    """The room's host, following the scenario's schedule: pins, chat, sales, closes."""

    fixed_count = 1
    wait_time = constant(0)

    def on_start(self) -> None:
        self.show = wait_for_show()
        self.token = self.show.host_token
        self.sales: list[str] = []
        self.join_room()

    @task
    def follow_schedule(self) -> None:
        for action in self.show.actions:
            delay = self.show.t0_ms / 1000 + action["at_s"] - time.time()
            if delay > 0:
                gevent.sleep(delay)
            self.perform(action["kind"], action["args"])
        while True:  # the schedule is over; keep the channel open and chat now and then
            gevent.sleep(5)
            self.perform("chat", {"text": "Thanks for watching!"})

    def perform(self, kind: str, args: dict[str, Any]) -> None:
        if kind in ("pin", "chat", "unpin") and self.channel is None and not self.join_room():
            return
        if kind in ("pin", "chat") and self.channel is not None:
            self.channel.send({"type": kind, **args})
        elif kind == "unpin" and self.channel is not None:
            self.channel.send({"type": "unpin"})
        elif kind == "sale":
            self.open_sale(args)
        elif kind == "close" and args["sale"] < len(self.sales):
            self.client.post(
                f"/api/sales/{self.sales[args['sale']]}/close",
                headers=self.auth(),
                name="/api/sales/[sale_id]/close",
            )

    def open_sale(self, args: dict[str, Any]) -> None:
        with self.client.post(
            f"/api/rooms/{self.show.room_id}/sales",
            json=args,
            headers=self.auth(),
            name="/api/rooms/[room_id]/sales",
            catch_response=True,
        ) as answer:
            if answer.status_code != 201:
                answer.failure(f"{answer.status_code} {error_code(answer)}")
                return
            sale_id = answer.json()["sale_id"]
        self.sales.append(sale_id)
        STATE.ledger.note_sale(sale_id)


CHAT_LINES = (
    "love this!",
    "what size is the model wearing?",
    "does it come in blue?",
    "just bought one",
    "how long is shipping?",
    "wow",
    "is it machine washable?",
    "hello from Hangzhou",
)
