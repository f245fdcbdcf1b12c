"""PURE: the invariants a load test checks at its end, and the verdict it prints.

The evidence comes from the API (sales and the rooms' orders, read as admin) and from the
load generators (idempotency keys, channel continuity, request counts).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtests.ledger import KeyRecord

TAKEN = ("held", "paid")  # order statuses that hold units of a sale


@dataclass(frozen=True)
class Violation:
    """One broken invariant: a stable rule name and what was seen."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(frozen=True)
class RequestCounts:
    """Locust's totals: requests, failed ones, and the failures by kind."""

    requests: int = 0
    failures: int = 0
    errors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """Everything the verdict is drawn from."""

    sales: Sequence[Mapping[str, Any]]
    orders: Sequence[Mapping[str, Any]]
    keys: Mapping[str, KeyRecord] = field(default_factory=dict)
    channel: Mapping[str, int] = field(default_factory=dict)
    requests: RequestCounts = field(default_factory=RequestCounts)
    max_error_ratio: float = 0.0


def _units(sale: Mapping[str, Any], name: str) -> int:
    value = sale.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def check_sale(sale: Mapping[str, Any]) -> list[Violation]:
    """`stock == left + held + sold`, none of them negative."""
    sale_id = sale.get("sale_id")
    stock, left, held, sold = (_units(sale, n) for n in ("stock", "left", "held", "sold"))
    counts = f"stock {stock}, left {left}, held {held}, sold {sold}"
    if min(stock, left, held, sold) < 0:
        return [Violation("bad_counts", f"sale {sale_id}: {counts}")]
    if held + sold > stock:
        return [Violation("oversold", f"sale {sale_id}: {counts}")]
    if stock != left + held + sold:
        return [Violation("stock_mismatch", f"sale {sale_id}: {counts}")]
    return []


def taken_by_buyer(orders: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units each buyer holds or has paid for."""
    taken: dict[str, int] = defaultdict(int)
    for order in orders:
        if order.get("status") in TAKEN:
            taken[str(order.get("user_id"))] += int(order.get("qty", 0))
    return dict(taken)


def check_sale_orders(
    sale: Mapping[str, Any], orders: Iterable[Mapping[str, Any]]
) -> list[Violation]:
    """The sale's held and paid orders add up to its held and sold units, each buyer in limit."""
    sale_id = sale.get("sale_id")
    taken = taken_by_buyer(orders)
    found: list[Violation] = []
    units = _units(sale, "held") + _units(sale, "sold")
    if sum(taken.values()) != units:
        found.append(
            Violation(
                "orders_mismatch",
                f"sale {sale_id}: held and paid orders hold {sum(taken.values())} units, "
                f"the sale counts {units} held and sold",
            )
        )
    limit = _units(sale, "per_buyer_limit")
    for user_id, qty in sorted(taken.items()):
        if limit >= 0 and qty > limit:
            found.append(
                Violation("over_limit", f"sale {sale_id}: buyer {user_id} holds {qty} > {limit}")
            )
    return found


def check_keys(
    keys: Mapping[str, KeyRecord], orders: Iterable[Mapping[str, Any]]
) -> list[Violation]:
    """One order per idempotency key, and every order a client was given is on record."""
    found: list[Violation] = []
    listed = {str(o.get("order_id")): o for o in orders}
    keys_per_buyer: Counter[tuple[str, str]] = Counter()
    for key, record in sorted(keys.items()):
        keys_per_buyer[(record.user_id, record.sale_id)] += 1
        if len(record.order_ids) > 1:
            found.append(
                Violation(
                    "duplicate_order",
                    f"key {key} answered with orders {', '.join(sorted(record.order_ids))}",
                )
            )
        for order_id in sorted(record.order_ids):
            order = listed.get(order_id)
            if order is None:
                found.append(Violation("lost_order", f"order {order_id} (key {key}) not listed"))
            elif (order.get("user_id"), order.get("sale_id")) != (
                record.user_id,
                record.sale_id,
            ):
                found.append(Violation("wrong_order", f"key {key} answered with {order_id}"))
    orders_per_buyer = Counter(
        (str(o.get("user_id")), str(o.get("sale_id"))) for o in listed.values()
    )
    for (user_id, sale_id), n in sorted(orders_per_buyer.items()):
        sent = keys_per_buyer.get((user_id, sale_id))
        if sent is not None and n > sent:
            found.append(
                Violation(
                    "duplicate_order",
                    f"sale {sale_id}: buyer {user_id} has {n} orders from {sent} keys",
                )
            )
    return found


def check_channel(channel: Mapping[str, int]) -> list[Violation]:
    """No durable event was missed, repeated, or lost with the room's history."""
    rules = (
        ("gaps", "seq_gap", "gaps in seq ({missed} events missed)"),
        ("repeats", "seq_repeat", "events at or below the last seq seen"),
        ("unrecovered", "resume_failed", "reconnects with since that did not recover"),
        ("epoch_changes", "epoch_changed", "reconnects that found the room's history lost"),
    )
    missed = channel.get("missed", 0)
    return [
        Violation(rule, f"{channel[counter]} {text.format(missed=missed)}")
        for counter, rule, text in rules
        if channel.get(counter, 0) > 0
    ]


def check_requests(counts: RequestCounts, max_error_ratio: float) -> list[Violation]:
    """Unexpected answers (locust failures) stay within the allowed share of requests."""
    if counts.failures == 0 or counts.failures <= max_error_ratio * counts.requests:
        return []
    return [
        Violation(
            "unexpected_answers",
            f"{counts.failures} of {counts.requests} requests failed "
            f"(allowed {max_error_ratio:.2%})",
        )
    ]


def check_run(evidence: Evidence) -> list[Violation]:
    """Every invariant over the whole run."""
    found: list[Violation] = []
    by_sale: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for order in evidence.orders:
        by_sale[str(order.get("sale_id"))].append(order)
    for sale in evidence.sales:
        found += check_sale(sale)
        found += check_sale_orders(sale, by_sale.get(str(sale.get("sale_id")), []))
    found += check_keys(evidence.keys, evidence.orders)
    found += check_channel(evidence.channel)
    found += check_requests(evidence.requests, evidence.max_error_ratio)
    return found


def render_report(evidence: Evidence, violations: list[Violation], scenario: str = "") -> str:
    """The verdict a load tester reads at the end of a run."""
    lines = [f"=== live load test verdict{f' ({scenario})' if scenario else ''} ==="]
    for sale in evidence.sales:
        lines.append(
            "sale {sale_id} [{status}]: stock {stock}, left {left}, held {held}, sold {sold}, "
            "limit {per_buyer_limit}".format_map(defaultdict(lambda: "?", sale))
        )
    statuses = Counter(str(o.get("status")) for o in evidence.orders)
    lines.append(
        f"orders: {len(evidence.orders)} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items())) or 'none'}); "
        f"idempotency keys sent: {len(evidence.keys)}"
    )
    channel = ", ".join(f"{k} {v}" for k, v in sorted(evidence.channel.items()))
    lines.append(f"channel: {channel or 'no reconnects, no gaps'}")
    counts = evidence.requests
    lines.append(f"requests: {counts.requests}, unexpected answers: {counts.failures}")
    for error, n in sorted(counts.errors.items(), key=lambda item: -item[1])[:10]:
        lines.append(f"  {n} x {error}")
    if violations:
        lines.append(f"FAIL: {len(violations)} invariant(s) broken")
        lines += [f"  - {v}" for v in violations]
    else:
        lines.append("PASS: every invariant holds")
    return "\n".join(lines)
