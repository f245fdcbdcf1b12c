"""A short headless run of the shop scenario against a real `live serve`, and its verdict's
rules on hand-made end states."""

from __future__ import annotations

import pytest

from loadtests.shop_check import shop_violations
from tests.loadtests.test_scenarios import ServerProcess, run_scenario, server

__all__ = ["server"]


@pytest.mark.slow
def test_a_short_shop_run_passes_its_invariants(server: ServerProcess) -> None:
    _, output = run_scenario(server, "shop")
    assert "PASS: every invariant holds" in output
    assert "/api/rooms/[id]/orders" in output, "nobody checked out"


def product(held: int, sold: int, stock: int = 10) -> dict[str, object]:
    return {
        "sku": "a",
        "variants": [
            {
                "variant_id": "m",
                "stock": stock,
                "available": stock - held - sold,
                "held": held,
                "sold": sold,
            }
        ],
    }


def order(status: str, qty: int) -> dict[str, object]:
    return {"status": status, "lines": [{"sku": "a", "variant_id": "m", "qty": qty}]}


def test_the_verdict_accepts_a_consistent_end_and_names_each_break() -> None:
    assert shop_violations([product(2, 3)], [order("held", 2), order("paid", 3)], {}) == []
    half_taken = shop_violations([product(3, 3)], [order("held", 2), order("paid", 3)], {})
    assert half_taken and "held" in half_taken[0]
    broken = product(0, 0)
    broken["variants"][0]["available"] = 11  # type: ignore[index]
    assert "stock" in shop_violations([broken], [], {})[0]
    assert "answered 2 orders" in shop_violations([], [], {"k": {"o1", "o2"}})[0]
