"""The end-of-run invariant checker: a clean run passes, each kind of breakage is named."""

from __future__ import annotations

from typing import Any

from loadtests.invariants import (
    Evidence,
    RequestCounts,
    check_run,
    check_sale,
    render_report,
)
from loadtests.ledger import KeyRecord, RunLedger


def sale(**fields: Any) -> dict[str, Any]:
    base = {
        "sale_id": "s1",
        "room_id": "r1",
        "status": "sold_out",
        "stock": 10,
        "left": 0,
        "held": 4,
        "sold": 6,
        "per_buyer_limit": 2,
    }
    return {**base, **fields}


def order(order_id: str, user: str, qty: int, status: str, sale_id: str = "s1") -> dict[str, Any]:
    return {"order_id": order_id, "sale_id": sale_id, "user_id": user, "qty": qty, "status": status}


def clean_orders() -> list[dict[str, Any]]:
    return [
        order("o1", "u1", 2, "paid"),
        order("o2", "u2", 2, "paid"),
        order("o3", "u3", 2, "held"),
        order("o4", "u4", 1, "held"),
        order("o5", "u5", 1, "held"),
        order("o6", "u6", 2, "paid"),
        order("o7", "u7", 1, "cancelled"),
        order("o8", "u8", 2, "expired"),
    ]


def clean_keys() -> dict[str, KeyRecord]:
    keys = {f"k{n}": KeyRecord(f"u{n}", "s1", frozenset({f"o{n}"})) for n in range(1, 9)}
    keys["k9"] = KeyRecord("u9", "s1", frozenset())  # answered sold_out: no order
    return keys


def evidence(**fields: Any) -> Evidence:
    base: dict[str, Any] = {
        "sales": [sale()],
        "orders": clean_orders(),
        "keys": clean_keys(),
        "channel": {"resumes": 2},
        "requests": RequestCounts(500, 0, {}),
    }
    return Evidence(**{**base, **fields})


def rules(found: Any) -> list[str]:
    return [v.rule for v in found]


def test_a_clean_run_passes() -> None:
    assert check_run(evidence()) == []


def test_a_broken_sale_whose_left_was_raised_behind_the_servers_back_is_caught() -> None:
    tampered = sale(left=3)  # someone wrote 3 units back to `left` in Redis by hand
    assert rules(check_run(evidence(sales=[tampered]))) == ["stock_mismatch"]


def test_a_sale_with_more_taken_than_stock_is_oversold() -> None:
    assert rules(check_sale(sale(held=5, sold=6, left=0))) == ["oversold"]


def test_negative_counts_are_caught() -> None:
    assert rules(check_sale(sale(left=-1, held=5))) == ["bad_counts"]
    assert rules(check_sale({"sale_id": "s1"})) == ["bad_counts"]


def test_sold_units_without_orders_behind_them_are_caught() -> None:
    # stock == left + held + sold still holds, but the orders only account for 10 - 2 units.
    orders = [o for o in clean_orders() if o["order_id"] != "o6"]
    assert rules(check_run(evidence(orders=orders))) == ["orders_mismatch", "lost_order"]


def test_a_buyer_over_its_limit_is_caught() -> None:
    orders = [*clean_orders(), order("o10", "u1", 1, "held")]
    keys = {**clean_keys(), "k10": KeyRecord("u1", "s1", frozenset({"o10"}))}
    found = check_run(
        evidence(sales=[sale(left=0, held=5, sold=6, stock=11)], orders=orders, keys=keys)
    )
    assert rules(found) == ["over_limit"]
    assert "buyer u1 holds 3 > 2" in str(found[0])


def test_one_key_answered_with_two_orders_is_a_duplicate() -> None:
    keys = {**clean_keys(), "k1": KeyRecord("u1", "s1", frozenset({"o1", "o9"}))}
    orders = [*clean_orders(), order("o9", "u1", 2, "cancelled")]
    found = check_run(evidence(keys=keys, orders=orders))
    assert rules(found) == ["duplicate_order", "duplicate_order"]
    assert "key k1 answered with orders o1, o9" in str(found[0])


def test_more_orders_than_keys_for_a_buyer_is_a_duplicate() -> None:
    # The retry's answer was lost, but the server made a second order for the same key.
    orders = [*clean_orders(), order("o10", "u4", 1, "cancelled")]
    found = check_run(evidence(orders=orders))
    assert rules(found) == ["duplicate_order"]
    assert "buyer u4 has 2 orders from 1 keys" in str(found[0])


def test_an_order_answered_to_a_client_but_not_listed_is_lost() -> None:
    keys = {**clean_keys(), "k9": KeyRecord("u9", "s1", frozenset({"o99"}))}
    assert rules(check_run(evidence(keys=keys))) == ["lost_order"]


def test_an_order_of_someone_else_answered_to_a_key_is_caught() -> None:
    keys = {**clean_keys(), "k9": KeyRecord("u9", "s1", frozenset({"o1"}))}
    assert rules(check_run(evidence(keys=keys))) == ["wrong_order"]


def test_seq_gaps_repeats_and_failed_resumes_are_caught() -> None:
    channel = {"gaps": 2, "missed": 7, "repeats": 1, "unrecovered": 1, "epoch_changes": 1}
    found = check_run(evidence(channel=channel))
    assert rules(found) == ["seq_gap", "seq_repeat", "resume_failed", "epoch_changed"]
    assert "7 events missed" in str(found[0])


def test_unexpected_answers_fail_the_run_unless_allowed() -> None:
    counts = RequestCounts(1000, 3, {"POST /api/sales/[sale_id]/orders: 500": 3})
    assert rules(check_run(evidence(requests=counts))) == ["unexpected_answers"]
    assert check_run(evidence(requests=counts, max_error_ratio=0.01)) == []


def test_the_report_names_each_sale_the_counts_and_the_verdict() -> None:
    broken = evidence(sales=[sale(left=3)], requests=RequestCounts(9, 1, {"WS seq gap: x": 1}))
    text = render_report(broken, check_run(broken), "flash_sale")
    assert "(flash_sale)" in text
    assert "sale s1 [sold_out]: stock 10, left 3, held 4, sold 6, limit 2" in text
    assert "orders: 8 (cancelled 1, expired 1, held 3, paid 3)" in text
    assert "1 x WS seq gap: x" in text
    assert "FAIL: 2 invariant(s) broken" in text
    assert "PASS" in render_report(evidence(), [])


def test_ledgers_drained_on_workers_merge_into_the_masters() -> None:
    worker = RunLedger()
    worker.note_key("k1", "u1", "s1")
    worker.note_sale("s1")
    worker.count("gaps")
    first = worker.drain()
    worker.note_order("k1", "u1", "s1", "o1")  # the answer arrived after the first report
    worker.count("missed", 3)
    second = worker.drain()
    master = RunLedger()
    master.merge(first)
    master.merge(second)
    assert master.key_records() == {"k1": KeyRecord("u1", "s1", frozenset({"o1"}))}
    assert master.sales == {"s1"}
    assert master.channel["gaps"] == 1 and master.channel["missed"] == 3
    assert worker.drain()["keys"] == {}
