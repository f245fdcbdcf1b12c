"""The shop's store: product inventory, bag checkouts and every later step of an order.

A bag spans products, and each product's units live under its own hash tag (so a
Redis Cluster may place them on different slots). A checkout is therefore a small journaled
saga (docs/architecture.md, "The bag across slots"): the intent is written on the room's
slot, each product's lines are reserved on its own slot (all products in one pipelined
round trip), and the order appears on the room's slot only once every line is held. Any
step left undone by a crash is finished by the sweeper from the journal. Where one script
may touch every key of a checkout (one Redis server; a cluster only when all share a
slot), the same scripts run composed into one, bag_checkout.lua: one round trip.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from live.commerce.aftersale import Decision, decide, numbered
from live.commerce.bag_replies import (
    ProductReply,
    availability_args,
    available_of,
    fill_positions,
    new_order,
    open_object,
)
from live.commerce.bagsteps import CheckoutSteps
from live.commerce.figures import RoomTotals, room_figures
from live.commerce.ids import new_order_id, room_of
from live.commerce.inventory import (
    NO_VARIANT,
    LineRequest,
    checkout_fingerprint,
    counts_from_hash,
    initial_stock,
    ships_by,
)
from live.commerce.rules import outcome_error, public_order, public_view
from live.commerce.shopkeys import ShopKeys
from live.errors import BadRequest, Conflict, LiveError, NotFound, Unavailable, Unprocessable
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.redisdb.slots import one_script_may_touch
from live.settings import CommerceSettings

log = logging.getLogger("live.commerce.shop")

AFTER_PAYMENT = frozenset(
    {"shipped", "delivered", "return_requested", "partly_refunded", "refunded"}
)
# An unfinished checkout (a crashed process) is undone by the sweeper after this long.
INTENT_TIMEOUT_MS = 30_000
SWEEP_BATCH = 200
# How long this process trusts its own write of a room to the shop's sweep list: far
# below the 10 minutes after which the sweeper may retire a room (shopworker.py).
ROOM_LISTED_S = 30.0
# How long it trusts its write of a room to a buyer's list of rooms (only the order of the
# buyer's rooms in `GET /api/me/orders` depends on it).
BUYER_LISTED_S = 600.0
MAX_REMEMBERED = 100_000


@dataclass(frozen=True)
class CheckoutOutcome:
    order: dict[str, Any]
    created: bool


class BagStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        scripts: Scripts,
        commerce: CommerceSettings,
        now_ms: Callable[[], int],
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.shop_keys = ShopKeys(keys)
        self._scripts = scripts
        self._cfg = commerce
        self._now_ms = now_ms
        self.steps = CheckoutSteps(redis, scripts, commerce)
        # A checkout is one script (bag_checkout.lua) where its keys allow; False keeps
        # every checkout on the stepped path (`[commerce] bag_one_script`; its tests
        # switch it per checkout on one Redis too).
        self.one_script = commerce.bag_one_script
        self._room_keys = functools.lru_cache(maxsize=1000)(self._room_keys_of)
        # When this process last wrote a room to the sweep list, a (buyer, room) to the
        # buyer's list: monotonic deadlines until which it need not write them again.
        self._listed_rooms: dict[str, float] = {}
        self._listed_buyers: dict[tuple[str, str], float] = {}

    # --- inventory ---------------------------------------------------------------------
    async def init_product(self, product: dict[str, Any]) -> None:
        """Put a new product's units on the shelf (a no-op for figures already there)."""
        args: list[Any] = ["init"]
        for variant, stock in initial_stock(product).items():
            args += [variant, stock]
        await self._inv(product["sku"], args)

    async def counts(self, skus: list[str]) -> dict[str, dict[str, dict[str, int]]]:
        """sku -> variant key -> {stock, available, held, sold, shipped}."""
        if not skus:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sku in skus:
                pipe.hgetall(self.shop_keys.inventory(sku)[0])
            found = await pipe.execute()
        return {sku: counts_from_hash(data) for sku, data in zip(skus, found, strict=True)}

    async def shown_in(self, room_id: str, sku: str) -> bool:
        """Whether the room's line-up shows the product."""
        return await self._redis.zscore(self._keys.room_lineup(room_id), sku) is not None

    async def on_lineup(self, room_id: str, sku: str, now_ms: int) -> None:
        """Remember that `room_id` shows the product, so a restock reaches its viewers."""
        await self._redis.zadd(self.shop_keys.product_rooms(sku), {room_id: now_ms})

    async def set_stock(self, product: dict[str, Any], variant: str, stock: int) -> None:
        """Units on hand of one variant (`_` without variants); the rooms showing the
        product hear it. 409 `stock_below_held` under the units held or sold."""
        sku = product["sku"]
        code, entry, detail = await self._inv(sku, ["stock", variant, stock])
        if code == b"ok":
            rooms = await self._redis.zrevrange(self.shop_keys.product_rooms(sku), 0, 49)
            reply = (code, entry, detail)
            for room in rooms:  # one at a time: a restock never takes many connections
                await self._ack(room.decode(), [], {sku: reply})
        if code == b"stock_below_held":
            raise Conflict(
                f"{int(detail)} units are held or sold; stock cannot go below that",
                code="stock_below_held",
                taken=int(detail),
            )

    async def _inv(self, sku: str, args: list[Any]) -> Any:
        return await self.steps.product(self.shop_keys.inventory(sku), args)

    # --- checkout ----------------------------------------------------------------------
    async def checkout(
        self,
        room_id: str,
        user_id: str,
        idempotency_key: str,
        requests: list[LineRequest],
        lines: list[dict[str, Any]],
        currency: str,
        shipping: dict[str, str] | None,
        variant_keys: dict[str, list[str]] | None = None,
    ) -> CheckoutOutcome:
        """Hold every line or none; a replayed key answers its first order. One script and
        one round trip where one script may touch every key (one Redis, or one cluster
        slot; stocked products whose `variant_keys` are known: bag_checkout.lua);
        otherwise three round trips (the room's begin, every product's reserve, the room's
        commit). Each round trip is shared with the checkouts of the same event-loop turn.
        `variant_keys` (sku -> every variant key of the product) lets a stocked product's
        reserve read its availability in the same call."""
        order_id = new_order_id(room_id)
        fingerprint = checkout_fingerprint(requests)
        journal_lines = numbered(lines, list(range(len(lines))))
        await self._list_room(room_id)
        listed = self._list_buyer(room_id, user_id)
        try:
            return await self._checkout(
                room_id, user_id, idempotency_key, fingerprint, order_id, journal_lines,
                lines, currency, shipping, variant_keys or {},
            )  # fmt: skip
        finally:
            if listed is not None and not await _logged(listed, "buyer's rooms not written"):
                self._listed_buyers.pop((user_id, room_id), None)

    async def _checkout(
        self,
        room_id: str,
        user_id: str,
        idempotency_key: str,
        fingerprint: str,
        order_id: str,
        journal_lines: list[dict[str, Any]],
        lines: list[dict[str, Any]],
        currency: str,
        shipping: dict[str, str] | None,
        variant_keys: dict[str, list[str]],
    ) -> CheckoutOutcome:
        keys = self._room_keys(room_id)
        intent = orjson.dumps({"op": "intent", "order_id": order_id, "lines": journal_lines})
        begin_args = [
            user_id,
            idempotency_key,
            fingerprint,
            order_id,
            keys.order_prefix,
            intent,
            INTENT_TIMEOUT_MS,
            *[line["sku"] for line in lines],
        ]
        commit_keys = [
            *keys.commit,
            order_key_of(keys.order_prefix, order_id),
            *keys.commit_after_order,
            self.shop_keys.buyer_orders(room_id, user_id),
        ]
        whole = self._whole_checkout(keys, commit_keys, journal_lines, variant_keys)
        if whole is not None:
            return await self._checkout_at_once(
                order_id, room_id, user_id, lines, currency, shipping, begin_args,
                commit_keys, whole, variant_keys,
            )  # fmt: skip
        code, detail = await self.steps.begin(keys.begin, begin_args)
        if code != b"ok":
            return _begun(code, detail)
        replies = await self._product_step(
            "reserve", order_id, journal_lines, variant_keys=variant_keys
        )
        failed = [int(extra) for code, _, extra in replies.values() if code != b"ok"]
        if failed:
            await self._undo_checkout(room_id, order_id, journal_lines, f"{order_id}:intent")
            index = min(failed)
            raise _short(index, replies[lines[index]["sku"]][1], lines)
        fill_positions(lines, replies, self._now_ms())
        order = new_order(order_id, room_id, user_id, lines, currency, shipping)
        code, detail, *times = await self.steps.commit(
            commit_keys, [*self._commit_args(begin_args, order), *availability_args(replies)]
        )
        if code != b"created":
            # The key took another order, or the sweeper gave this checkout up: undo ours.
            await self._undo_checkout(room_id, order_id, journal_lines, f"{order_id}:release")
        return _committed(order, code, detail, times)

    def _commit_args(self, begin_args: list[Any], order: dict[str, Any]) -> list[Any]:
        """bag_commit.lua's ARGV[1..9] (its availability pairs follow), from bag_begin.lua's
        (user, key, fingerprint, order id, order key prefix) and the new order."""
        user_id, idempotency_key, fingerprint, order_id, order_prefix = begin_args[:5]
        return [
            user_id,
            idempotency_key,
            fingerprint,
            order_id,
            open_object(order),
            self._cfg.bag_hold_s * 1000,
            orjson.dumps(user_id),
            order_prefix,
            self._cfg.order_retention_s * 1000,
        ]

    async def _checkout_at_once(
        self,
        order_id: str,
        room_id: str,
        user_id: str,
        lines: list[dict[str, Any]],
        currency: str,
        shipping: dict[str, str] | None,
        begin_args: list[Any],
        commit_keys: list[str],
        by_sku: dict[str, list[dict[str, Any]]],
        variant_keys: dict[str, list[str]],
    ) -> CheckoutOutcome:
        """The stepped checkout's scripts in one (bag_checkout.lua): one call, one round
        trip (shared with the checkouts of the same event-loop turn)."""
        order = new_order(order_id, room_id, user_id, lines, currency, shipping)
        keys: list[str] = [*self._room_keys(room_id).begin, *commit_keys]
        products: list[Any] = []
        for sku, its_lines in by_sku.items():
            keys += self.shop_keys.inventory(sku)
            reserve = [order_id, len(its_lines), *_triples(its_lines), *variant_keys[sku]]
            products += [sku, len(reserve), *reserve]
        args = [len(by_sku), len(begin_args), *begin_args]
        args += [*self._commit_args(begin_args, order), *products]
        code, detail, *rest = await self.steps.whole(keys, args)
        if code == b"begin":
            return _begun(detail, rest[0])
        if code == b"short":
            raise _short(int(detail), rest[0], lines)
        return _committed(order, code, detail, rest)

    def _whole_checkout(
        self,
        keys: RoomKeys,
        commit_keys: list[str],
        journal_lines: list[dict[str, Any]],
        variant_keys: dict[str, list[str]],
    ) -> dict[str, list[dict[str, Any]]] | None:
        """The lines by product when the checkout can be one script (bag_checkout.lua): a
        stocked product's reserve (no made-to-order line: its queue position and ship-by
        date are worked out here from the reserve's answer) of products whose variants are
        known, and keys one script may touch (one Redis; on a cluster, one slot)."""
        if not self.one_script:
            return None
        by_sku = _by_product(journal_lines)
        if any(line.get("made_to_order") for line in journal_lines):
            return None
        if any(not variant_keys.get(sku) for sku in by_sku):
            return None
        product_keys = [key for sku in by_sku for key in self.shop_keys.inventory(sku)]
        if not one_script_may_touch(self._redis, [*keys.begin, *commit_keys, *product_keys]):
            return None
        return by_sku

    def _room_keys_of(self, room_id: str) -> RoomKeys:
        k, sk = self._keys, self.shop_keys
        return RoomKeys(
            begin=[
                k.room(room_id),
                k.room_lineup(room_id),
                sk.bag_idempotency(room_id),
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                k.room_replay(room_id),
                k.room_replay_lineup(room_id),
            ],
            commit=[sk.bag_idempotency(room_id), sk.bag_journal(room_id),
                    sk.bag_journal_due(room_id)],
            commit_after_order=[
                sk.bag_holds(room_id),
                k.room_order_seq(room_id),
                k.room_order_records(room_id),
                k.room_orders(room_id),
                k.room_order_stats(room_id),
                sk.lineup_stock(room_id),
                k.room_channel(room_id),
            ],
            order_prefix=k.order_prefix(room_id),
        )  # fmt: skip

    async def _list_room(self, room_id: str) -> None:
        """The room on the sweep list before its first intent exists (so a checkout a crash
        leaves unfinished is always swept), written at most every ROOM_LISTED_S."""
        now = time.monotonic()
        if self._listed_rooms.get(room_id, 0.0) > now:
            return
        key = self.shop_keys.shop_rooms()
        await self.steps.index(key, self._now_ms(), room_id)
        _remember(self._listed_rooms, room_id, now + ROOM_LISTED_S)

    def _list_buyer(self, room_id: str, user_id: str) -> asyncio.Future[Any] | None:
        """The room on the buyer's list of rooms (for `GET /api/me/orders`), written beside
        the checkout; None when this process wrote it lately."""
        now = time.monotonic()
        if self._listed_buyers.get((user_id, room_id), 0.0) > now:
            return None
        _remember(self._listed_buyers, (user_id, room_id), now + BUYER_LISTED_S)
        key = self.shop_keys.my_rooms(user_id)
        return self.steps.index(key, self._now_ms(), room_id)

    async def _undo_checkout(
        self, room_id: str, order_id: str, lines: list[dict[str, Any]], journal_field: str
    ) -> None:
        """Give a checkout's units back, then drop its journal entry (the sweeper redoes
        both if this process dies in between)."""
        replies = await self._product_step("release", order_id, lines)
        await self._ack(room_id, [journal_field], replies)

    # --- product steps -----------------------------------------------------------------
    async def _product_step(
        self,
        op: str,
        order_id: str,
        lines: list[dict[str, Any]],
        *,
        restock: bool = False,
        variant_keys: dict[str, list[str]] | None = None,
    ) -> dict[str, ProductReply]:
        """Run `op` on every product the lines name, all in one batch (one round trip per
        primary and one connection each; a cluster's primaries in parallel); sku ->
        (code, the product's availability, extra)."""
        by_sku = _by_product(lines)
        futures = []
        for sku, its_lines in by_sku.items():
            triples = _triples(its_lines)
            made = any(line.get("made_to_order") for line in its_lines)
            keys = self.shop_keys.inventory(sku)
            known = (variant_keys or {}).get(sku)
            if op == "reserve" and not made and known:
                args = [order_id, len(its_lines), *triples, *known]
                futures.append(self.steps.reserve(keys[:2], args))
                continue
            args = [op, order_id, "1" if made else "0", "1" if restock else "0", *triples]
            futures.append(self.steps.product(keys, args))
        replies: dict[str, ProductReply] = {}
        for sku, future in zip(by_sku, futures, strict=True):
            replies[sku] = await future
        return replies

    async def run_journal(self, room_id: str, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Do the product steps of journal entries, then delete them."""
        updates: dict[str, ProductReply] = {}
        for _, entry in entries:
            op = str(entry["op"]).split(".", 1)[0]
            step = {"release": "release", "refund": "refund", "ship": "ship"}.get(op)
            if step is None:
                continue
            replies = await self._product_step(
                step, entry["order_id"], entry["lines"], restock=bool(entry.get("restock"))
            )
            updates.update(replies)
        await self._ack(room_id, [field for field, _ in entries], updates)

    async def _ack(self, room_id: str, fields: list[str], replies: dict[str, ProductReply]) -> None:
        sk, k = self.shop_keys, self._keys
        await self._scripts.call(
            "bag_ack",
            [
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                sk.lineup_stock(room_id),
                k.room_channel(room_id),
            ],
            [len(fields), *fields, *availability_args(replies)],
        )

    async def sweep(self, room_id: str) -> bool:
        """Expire due holds, give up stale checkouts, do the journal; True when idle."""
        sk, k = self.shop_keys, self._keys
        reply = await self._scripts.call(
            "bag_sweep",
            [
                sk.bag_holds(room_id),
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                k.room_order_records(room_id),
                k.room_channel(room_id),
                sk.lineup_stock(room_id),
            ],
            [k.order_prefix(room_id), SWEEP_BATCH],
        )
        idle = int(reply[0]) == 1
        entries = [(reply[i].decode(), orjson.loads(reply[i + 1])) for i in range(1, len(reply), 2)]
        if entries:
            await self.run_journal(room_id, entries)
        return idle and not entries

    # --- order steps ---------------------------------------------------------------------
    async def apply(
        self, order: dict[str, Any], decision: Decision, *, require_shipping: bool = False
    ) -> dict[str, Any]:
        """Apply a decision of live/commerce/aftersale.py; its product steps follow."""
        room_id = order["room_id"]
        k, sk = self._keys, self.shop_keys
        lines = decision.journal_lines
        code, detail, field = await self._scripts.call(
            "order_step",
            [
                k.order(room_id, order["order_id"]),
                k.room_order_records(room_id),
                k.room_order_stats(room_id),
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                sk.bag_holds(room_id),
                k.room_channel(room_id),
                k.room_paying_buyers(room_id),
                sk.lineup_stock(room_id),
                k.sale_log(room_id, order["sale_id"])
                if order.get("sale_id")
                else k.room_order_records(room_id),
            ],
            [
                decision.expected_status,
                decision.expected_version,
                orjson.dumps(decision.order),
                decision.stamp,
                "1" if decision.check_hold else "0",
                decision.journal_op,
                orjson.dumps(decision.journal_extra),
                orjson.dumps(lines) if lines is not None else "",
                orjson.dumps(decision.totals),
                "1" if decision.leave_holds else "0",
                "1" if decision.paying_buyer else "0",
                "1" if require_shipping else "0",
                "1" if order.get("sale_id") else "0",
            ],
        )
        if code == b"ok" and order.get("sale_id"):
            # The change went to the sale's order log: the sale workers read it again even
            # if they had retired the sale (closed, every entry recorded).
            await self._redis.zadd(k.sales_active(), {order["sale_id"]: 0})
        if field:
            raw = await self._redis.hget(sk.bag_journal(room_id), field)
            if raw is not None:
                await self.run_journal(room_id, [(field.decode(), orjson.loads(raw))])
        if code == b"ok":
            return public_order(detail)
        if code == b"hold_expired":
            raise Conflict(
                "the hold has expired; its units went back to the shop", code="hold_expired"
            )
        if code == b"shipping_required":
            raise Conflict("add a shipping address before paying", code="shipping_required")
        if code == b"bad_transition":
            now = public_order(detail)
            raise Conflict(
                f"the order is now {now['status']}",
                code="bad_transition",
                order_status=now["status"],
            )
        raise NotFound("order not found")

    async def pay(
        self, order: dict[str, Any], payment_id: str, *, require_shipping: bool = False
    ) -> dict[str, Any]:
        """A bag order's units become sold on every product, then the order paid; paying
        again answers the paid order."""
        if order["status"] == "paid":
            return order
        if order["status"] in AFTER_PAYMENT:
            raise Conflict(f"the order is {order['status']}", code="bad_transition")
        if order["status"] != "held":
            raise outcome_error(
                "order_cancelled" if order["status"] == "cancelled" else "hold_expired"
            )
        if not await self.settle(order):
            raise outcome_error("hold_expired")
        decision = decide({**order, "payment_id": payment_id}, "pay", {}, now_ms=0, return_days=0)
        try:
            return await self.apply(order, decision, require_shipping=require_shipping)
        except Conflict as exc:
            if exc.code != "bad_transition":
                raise
            # A concurrent pay (or cancel, or the sweeper) got there first.
            now = await self.get(order)
            if now["status"] == "paid":
                return now
            code = "order_cancelled" if now["status"] == "cancelled" else "hold_expired"
            raise outcome_error(code) from exc

    async def cancel(self, order: dict[str, Any]) -> dict[str, Any]:
        """Cancel a held bag order; every line's units go back at once."""
        if order["status"] == "cancelled":
            return order
        if order["status"] != "held":
            raise outcome_error("hold_expired" if order["status"] == "expired" else "already_paid")
        decision = decide(order, "cancel", {}, now_ms=0, return_days=0)
        try:
            return await self.apply(order, decision)
        except Conflict as exc:
            if exc.code != "bad_transition":
                raise
            now = await self.get(order)
            if now["status"] == "cancelled":
                return now
            code = "hold_expired" if now["status"] == "expired" else "already_paid"
            raise outcome_error(code) from exc

    async def get(self, order: dict[str, Any]) -> dict[str, Any]:
        raw = await self._redis.get(self._keys.order(order["room_id"], order["order_id"]))
        if raw is None:
            raise NotFound("order not found")
        return public_order(raw)

    async def settle(self, order: dict[str, Any]) -> bool:
        """Turn a bag order's held units into sold ones before it is marked paid; False
        when a line was already given back (the hold is over)."""
        lines = numbered(order["lines"], list(range(len(order["lines"]))))
        replies = await self._product_step("settle", order["order_id"], lines)
        return all(code == b"ok" for code, _, _ in replies.values())

    # --- reading -------------------------------------------------------------------------
    async def with_positions(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Made-to-order lines with their queue position and ship-by date as of now."""
        for order in orders:
            lines = order.get("lines") or []
            mto = [i for i, line in enumerate(lines) if line.get("made_to_order")]
            if not mto or order["status"] in ("cancelled", "expired", "shipped", "delivered"):
                continue
            replies = await self._product_step("positions", order["order_id"], numbered(lines, mto))
            products = {
                sku: orjson.loads(extra) if extra else {} for sku, (_, _, extra) in replies.items()
            }
            for i in mto:
                found = products.get(lines[i]["sku"], {})
                spot = found.get(str(i)) if isinstance(found, dict) else None
                if spot:
                    lines[i]["queue_position"] = int(spot[0])
                    made = lines[i].get("made_to_order_terms") or {}
                    lines[i]["ships_by"] = ships_by(
                        int(spot[2]),
                        int(spot[1]),
                        int(made.get("per_week", 1)),
                        int(made.get("lead_days", 0)),
                    )
        return orders

    async def my_orders(
        self, user_id: str, limit: int, before: int | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The buyer's orders over every room, newest first: bag orders, and sale, auction
        and waitlist orders once the sale workers have recorded them (within
        RECORD_INTERVAL_S, live/commerce/worker.py)."""
        sk, k = self.shop_keys, self._keys
        rooms = await self._redis.zrevrange(sk.my_rooms(user_id), 0, 49)
        upper = f"({before}" if before is not None else "+inf"
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.zrevrangebyscore(
                    sk.buyer_orders(room.decode(), user_id),
                    upper,
                    "-inf",
                    start=0,
                    num=limit + 1,
                    withscores=True,
                )
            found = await pipe.execute()
        ids = sorted(
            ((int(score), oid.decode()) for per_room in found for oid, score in per_room),
            reverse=True,
        )
        page = ids[:limit]
        if not page:
            return [], None
        # One pipeline: the orders live in their rooms' slots.
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, order_id in page:
                pipe.get(k.order(room_of(order_id, "o"), order_id))
            raws = await pipe.execute()
        orders = [public_order(raw) for raw in raws if raw is not None]
        return await self.with_positions(orders), (page[-1][0] if len(ids) > limit else None)

    # --- figures ---------------------------------------------------------------------

    async def room_totals(self, room_ids: list[str]) -> list[RoomTotals]:
        """Each room's paid totals, returns and paying buyers (rooms that are gone left out)."""
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.hget(k.room(room_id), "created_at")
                pipe.hgetall(k.room_order_stats(room_id))
                pipe.smembers(k.room_paying_buyers(room_id))
            found = await pipe.execute()
        out = []
        for i, room_id in enumerate(room_ids):
            created, totals, buyers = found[3 * i : 3 * i + 3]
            if created is None:
                continue
            t = {name.decode(): int(value) for name, value in totals.items()}
            out.append(
                RoomTotals(
                    room_id=room_id,
                    created_at=int(created),
                    buyers=frozenset(b.decode() for b in buyers),
                    orders=t.get("orders", 0),
                    gmv_cents=t.get("gmv_cents", 0),
                    returns=t.get("returns", 0),
                )
            )
        return out

    async def host_room_totals(self, host_id: str) -> list[RoomTotals]:
        ids = await self._redis.zrange(self.shop_keys.host_rooms(host_id), 0, -1)
        return await self.room_totals([i.decode() for i in ids])

    async def room_shop_figures(self, room_id: str) -> dict[str, Any]:
        """The figures a room's stats add: AOV, repeat buyers, returns (live/commerce/figures)."""
        host_id = await self._redis.hget(self._keys.room(room_id), "host_id")
        found = await self.room_totals([room_id])
        if not found:
            return {}
        room = found[0]
        earlier = await self.host_room_totals(host_id.decode()) if host_id else []
        return room_figures(room, earlier)


@dataclass(frozen=True)
class RoomKeys:
    """A room's keys of the checkout scripts, built once per room."""

    begin: list[str]
    commit: list[str]  # KEYS[1..3] of bag_commit.lua; then the order's key
    commit_after_order: list[str]  # KEYS[5..11]; then the buyer's orders in the room
    order_prefix: str


def order_key_of(prefix: str, order_id: str) -> str:
    return prefix + order_id


def _remember(seen: dict[Any, float], key: Any, until: float) -> None:
    if len(seen) >= MAX_REMEMBERED:
        seen.clear()
    seen[key] = until


async def _logged(future: asyncio.Future[Any], message: str) -> bool:
    """Wait for a write beside the checkout; its failure is logged, not answered."""
    try:
        await future
    except (RedisError, OSError) as exc:
        log.warning(message, extra={"error": str(exc)})
        return False
    return True


def _by_product(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Journal lines by sku, products in the order of their first line."""
    by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_sku[line["sku"]].append(line)
    return by_sku


def _triples(lines: list[dict[str, Any]]) -> list[Any]:
    """A product's lines as the inventory scripts take them: index, variant key, qty."""
    triples: list[Any] = []
    for line in lines:
        triples += [line["i"], line.get("variant_id") or NO_VARIANT, line["qty"]]
    return triples


def _begun(code: bytes, detail: bytes) -> CheckoutOutcome:
    """What bag_begin.lua's refusal or replay answers."""
    if code == b"replay":
        return CheckoutOutcome(public_order(detail), False)
    raise _begin_error(code.decode(), detail.decode())


def _short(index: int, entry: bytes, lines: list[dict[str, Any]]) -> LiveError:
    """Line `index` is short; `entry` is its product's availability JSON."""
    return Conflict(
        "fewer units are left than asked for",
        code="not_enough_left",
        field=f"lines[{index}]",
        left=available_of(entry, lines[index]),
    )


def _committed(
    order: dict[str, Any], code: bytes, detail: Any, times: list[Any]
) -> CheckoutOutcome:
    """What bag_commit.lua's reply answers (the units of a checkout it did not commit are
    already given back)."""
    if code == b"created":
        stored = {**order, "order_no": detail, "created_at": times[0], "expires_at": times[1]}
        return CheckoutOutcome(public_view({**stored, "v": 1}), True)
    if code == b"replay" and detail:
        return CheckoutOutcome(public_order(detail), False)
    if code == b"idempotency_mismatch":
        raise Unprocessable(
            "this Idempotency-Key was used with another body", code="idempotency_mismatch"
        )
    raise Unavailable("the checkout took too long and was undone; retry")


def _begin_error(code: str, detail: str) -> LiveError:
    if code == "not_in_lineup":
        return Conflict(
            "that product is not on this room's line-up",
            code="not_in_lineup",
            field=f"lines[{detail}]",
        )
    if code == "room_ended":
        return Conflict("the room has ended", code="room_ended")
    if code == "idempotency_mismatch":
        return Unprocessable(
            "this Idempotency-Key was used with another body", code="idempotency_mismatch"
        )
    if code == "not_found":
        return NotFound("room not found")
    return BadRequest(code)
