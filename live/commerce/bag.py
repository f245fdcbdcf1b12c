"""The shop's store: product inventory, bag checkouts and every later step of an order.

A bag spans products, and each product's units live under its own hash tag (so a
Redis Cluster may place them on different slots). A checkout is therefore a small journaled
saga (docs/architecture.md, "The bag across slots"): the intent is written on the room's
slot, each product's lines are reserved on its own slot (all products in one pipelined
round trip), and the order appears on the room's slot only once every line is held. Any
step left undone by a crash is finished by the sweeper from the journal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from live.commerce.aftersale import Decision, decide, numbered
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
from live.commerce.rules import outcome_error, public_order
from live.commerce.shopkeys import ShopKeys
from live.errors import BadRequest, Conflict, LiveError, NotFound, Unavailable, Unprocessable
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import CommerceSettings

AFTER_PAYMENT = frozenset(
    {"shipped", "delivered", "return_requested", "partly_refunded", "refunded"}
)
# An unfinished checkout (a crashed process) is undone by the sweeper after this long.
INTENT_TIMEOUT_MS = 30_000
SWEEP_BATCH = 200

Counts = dict[str, dict[str, int]]


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

    # --- inventory ---------------------------------------------------------------------
    async def init_product(self, product: dict[str, Any]) -> None:
        """Put a new product's units on the shelf (a no-op for figures already there)."""
        args: list[Any] = ["init"]
        for variant, stock in initial_stock(product).items():
            args += [variant, stock]
        await self._inv(product["sku"], args)

    async def counts(self, skus: list[str]) -> dict[str, Counts]:
        """sku -> variant key -> {stock, available, held, sold, shipped}."""
        if not skus:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sku in skus:
                pipe.hgetall(self.shop_keys.inventory(sku)[0])
            found = await pipe.execute()
        return {sku: counts_from_hash(data) for sku, data in zip(skus, found, strict=True)}

    async def on_lineup(self, room_id: str, sku: str, now_ms: int) -> None:
        """Remember that `room_id` shows the product, so a restock reaches its viewers."""
        await self._redis.zadd(self.shop_keys.product_rooms(sku), {room_id: now_ms})

    async def set_stock(self, product: dict[str, Any], variant: str, stock: int) -> Counts:
        sku = product["sku"]
        code, counts, detail = await self._inv(sku, ["stock", variant, stock])
        if code == b"ok":
            rooms = await self._redis.zrevrange(self.shop_keys.product_rooms(sku), 0, 49)
            reply = (code, counts, detail)
            for room in rooms:  # one at a time: a restock never takes many connections
                await self._ack(room.decode(), [], {sku: reply})
        if code == b"stock_below_held":
            raise Conflict(
                f"{int(detail)} units are held or sold; stock cannot go below that",
                code="stock_below_held",
                taken=int(detail),
            )
        return counts_from_hash_json(counts)

    async def _inv(self, sku: str, args: list[Any]) -> Any:
        return await self._scripts.call("inv", self.shop_keys.inventory(sku), args)

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
    ) -> CheckoutOutcome:
        """Hold every line or none; a replayed key answers its first order."""
        k, sk = self._keys, self.shop_keys
        order_id = new_order_id(room_id)
        fingerprint = checkout_fingerprint(requests)
        journal_lines = numbered(lines, list(range(len(lines))))
        intent = {"op": "intent", "order_id": order_id, "lines": journal_lines}
        # One pipeline (one connection: a burst of checkouts must not take more connections
        # than the pool has): the two indexes (global keys) and the room's begin script.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(sk.shop_rooms(), {room_id: self._now_ms()})
            pipe.zadd(sk.my_rooms(user_id), {room_id: self._now_ms()})
            self._scripts.queue(
                pipe,
                "bag_begin",
                [
                    k.room(room_id),
                    k.room_lineup(room_id),
                    sk.bag_idempotency(room_id),
                    sk.bag_journal(room_id),
                    sk.bag_journal_due(room_id),
                ],
                [
                    user_id,
                    idempotency_key,
                    fingerprint,
                    order_id,
                    k.order_prefix(room_id),
                    orjson.dumps(intent),
                    INTENT_TIMEOUT_MS,
                    *[line["sku"] for line in lines],
                ],
            )
            *_, (code, detail) = await pipe.execute()
        if code == b"replay":
            return CheckoutOutcome(public_order(detail), False)
        if code != b"ok":
            raise _begin_error(code.decode(), detail.decode())
        replies = await self._product_step("reserve", order_id, journal_lines)
        failed = [int(extra) for code, _, extra in replies.values() if code != b"ok"]
        if failed:
            await self._undo_checkout(room_id, order_id, journal_lines, f"{order_id}:intent")
            index = min(failed)
            left = _available_of(replies[lines[index]["sku"]][1], lines[index])
            raise Conflict(
                "fewer units are left than asked for",
                code="not_enough_left",
                field=f"lines[{index}]",
                left=left,
            )
        _fill_positions(lines, replies, self._now_ms())
        order = _new_order(order_id, room_id, user_id, lines, currency, shipping)
        code, detail = await self._scripts.call(
            "bag_commit",
            [
                sk.bag_idempotency(room_id),
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                k.order(room_id, order_id),
                sk.bag_holds(room_id),
                k.room_order_seq(room_id),
                k.room_order_records(room_id),
                k.room_orders(room_id),
                k.room_order_stats(room_id),
                sk.lineup_stock(room_id),
                k.room_channel(room_id),
                sk.buyer_orders(room_id, user_id),
            ],
            [
                user_id,
                idempotency_key,
                fingerprint,
                order_id,
                orjson.dumps(order),
                self._cfg.bag_hold_s * 1000,
                orjson.dumps(_availability_updates(replies)),
                k.order_prefix(room_id),
                self._cfg.order_retention_s * 1000,
            ],
        )
        if code == b"created":
            return CheckoutOutcome(public_order(detail), True)
        # The key took another order, or the sweeper gave this checkout up: undo ours.
        await self._undo_checkout(room_id, order_id, journal_lines, f"{order_id}:release")
        if code == b"replay" and detail:
            return CheckoutOutcome(public_order(detail), False)
        if code == b"idempotency_mismatch":
            raise Unprocessable(
                "this Idempotency-Key was used with another body", code="idempotency_mismatch"
            )
        raise Unavailable("the checkout took too long and was undone; retry")

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
    ) -> dict[str, Any]:
        """Run `op` on every product the lines name in one pipeline (one round trip and one
        connection; a cluster client sends each to its slot's node); sku -> (code, counts
        JSON, extra)."""
        by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in lines:
            by_sku[line["sku"]].append(line)
        if not by_sku:
            return {}
        calls = []
        for sku, its_lines in by_sku.items():
            mto = "1" if any(line.get("made_to_order") for line in its_lines) else "0"
            args: list[Any] = [op, order_id, mto, "1" if restock else "0"]
            for line in its_lines:
                args += [line["i"], line.get("variant_id") or NO_VARIANT, line["qty"]]
            calls.append((sku, args))
        if len(calls) == 1:
            # A script alone needs no SCRIPT EXISTS first, as a pipeline carrying one does.
            sku, args = calls[0]
            return {sku: await self._inv(sku, args)}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sku, args in calls:
                self._scripts.queue(pipe, "inv", self.shop_keys.inventory(sku), args)
            replies = await pipe.execute()
        return dict(zip(by_sku, replies, strict=True))

    async def run_journal(self, room_id: str, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Do the product steps of journal entries, then delete them."""
        updates: dict[str, Any] = {}
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

    async def _ack(self, room_id: str, fields: list[str], replies: dict[str, Any]) -> None:
        sk, k = self.shop_keys, self._keys
        await self._scripts.call(
            "bag_ack",
            [
                sk.bag_journal(room_id),
                sk.bag_journal_due(room_id),
                sk.lineup_stock(room_id),
                k.room_channel(room_id),
            ],
            [orjson.dumps(_availability_updates(replies)), *fields],
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
        """The buyer's bag orders over every room, newest first."""
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
        raws = []
        for _, order_id in page:
            raws.append(await self._redis.get(k.order(room_of(order_id, "o"), order_id)))
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


def counts_from_hash_json(raw: bytes) -> Counts:
    names = {"s": "stock", "a": "available", "h": "held", "d": "sold", "x": "shipped"}
    decoded = orjson.loads(raw) if raw else {}
    if not isinstance(decoded, dict):
        return {}
    return {
        variant: {names[kind]: int(n) for kind, n in per.items() if kind in names}
        for variant, per in decoded.items()
    }


def _availability_updates(replies: dict[str, Any]) -> dict[str, Any]:
    """sku -> {available, variants} from product replies, for `lineup_stock`."""
    out = {}
    for sku, (_, counts_raw, _) in replies.items():
        counts = counts_from_hash_json(counts_raw)
        if not counts:
            continue
        variants = {v: c.get("available", 0) for v, c in counts.items() if v != NO_VARIANT}
        queue = sum(
            c.get("held", 0) + c.get("sold", 0) - c.get("shipped", 0) for c in counts.values()
        )
        entry: dict[str, Any] = {"available": sum(c.get("available", 0) for c in counts.values())}
        if variants:
            entry["variants"] = variants
        if all(c.get("stock", 0) == 0 for c in counts.values()) and queue:
            entry["queue"] = queue
        out[sku] = entry
    return out


def _available_of(counts_raw: bytes, line: dict[str, Any]) -> int:
    counts = counts_from_hash_json(counts_raw)
    return counts.get(line.get("variant_id") or NO_VARIANT, {}).get("available", 0)


def _fill_positions(lines: list[dict[str, Any]], replies: dict[str, Any], now: int) -> None:
    for i, line in enumerate(lines):
        if not line.get("made_to_order"):
            continue
        _, _, extra = replies[line["sku"]]
        spot = (orjson.loads(extra) if extra else {}).get(str(i))
        if spot:
            terms = line.get("made_to_order_terms") or {}
            line["queue_position"] = int(spot[0])
            line["ships_by"] = ships_by(
                int(spot[2]) or now,
                int(spot[1]),
                int(terms.get("per_week", 1)),
                int(terms.get("lead_days", 0)),
            )


def _new_order(
    order_id: str,
    room_id: str,
    user_id: str,
    lines: list[dict[str, Any]],
    currency: str,
    shipping: dict[str, str] | None,
) -> dict[str, Any]:
    first = lines[0]
    return {
        "order_id": order_id,
        "sale_id": None,
        "room_id": room_id,
        "user_id": user_id,
        "sku": first["sku"],
        "title": first["title"]
        if len(lines) == 1
        else f"{first['title']} and {len(lines) - 1} more",
        "qty": sum(line["qty"] for line in lines),
        "price_cents": None,
        "currency": currency,
        "amount_cents": sum(line["amount_cents"] for line in lines),
        "status": "held",
        "lines": lines,
        "shipping": shipping,
    }


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
