"""The end-of-run check re-reads the server while it looks broken, then gives its verdict."""

from __future__ import annotations

from loadtests.check import settled_verdict
from loadtests.invariants import Evidence

CLEAN = {"sale_id": "s1", "stock": 3, "left": 1, "held": 0, "sold": 2, "per_buyer_limit": 1}
PAID = [
    {"order_id": "o1", "sale_id": "s1", "user_id": "u1", "qty": 1, "status": "paid"},
    {"order_id": "o2", "sale_id": "s1", "user_id": "u2", "qty": 1, "status": "paid"},
]


def test_a_hold_expiring_between_two_reads_is_not_reported() -> None:
    # First read: the order already shows expired, the sale still counts the unit as held.
    reads = iter(
        [
            Evidence(sales=[{**CLEAN, "left": 0, "held": 1}], orders=PAID),
            Evidence(sales=[CLEAN], orders=PAID),
        ]
    )
    evidence, violations = settled_verdict(lambda: next(reads), pause_s=0)
    assert violations == []
    assert evidence.sales == [CLEAN]


def test_a_lasting_breakage_is_reported_after_the_last_read() -> None:
    calls = []

    def collect() -> Evidence:
        calls.append(1)
        return Evidence(sales=[{**CLEAN, "left": 5}], orders=PAID)

    _, violations = settled_verdict(collect, attempts=3, pause_s=0)
    assert [v.rule for v in violations] == ["stock_mismatch"]
    assert len(calls) == 3
