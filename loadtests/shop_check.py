"""The shop scenario's verdict, pure: the invariant for every product and variant, one
order per Idempotency-Key, and no order half-taken (held and sold units are exactly those
of the orders in those states)."""

from __future__ import annotations

from collections import Counter
from typing import Any

HELD = ("held",)
SOLD = ("paid", "shipped", "delivered", "return_requested")


def shop_violations(
    products: list[dict[str, Any]],
    orders: list[dict[str, Any]],
    answers_by_key: dict[str, set[str]],
) -> list[str]:
    """Every way the run's end state breaks the shop's rules (empty when it holds).
    `answers_by_key`: Idempotency-Key -> the order ids its 200/201 answers named."""
    problems = []
    for key, order_ids in answers_by_key.items():
        if len(order_ids) > 1:
            problems.append(f"key {key} answered {len(order_ids)} orders")
    held: Counter[tuple[str, str | None]] = Counter()
    sold: Counter[tuple[str, str | None]] = Counter()
    for order in orders:
        for line in order.get("lines") or []:
            where = (line["sku"], line.get("variant_id"))
            if order["status"] in HELD:
                held[where] += line["qty"]
            elif order["status"] in SOLD:
                sold[where] += line["qty"]
    for product in products:
        rows = [(v["variant_id"], v) for v in product.get("variants") or []] or [(None, product)]
        for variant, row in rows:
            name = f"{product['sku']}/{variant or '-'}"
            if row["stock"] != row["available"] + row["held"] + row["sold"]:
                problems.append(f"{name}: stock {row['stock']} != available + held + sold {row}")
            if min(row["available"], row["held"], row["sold"]) < 0:
                problems.append(f"{name}: a negative count {row}")
            if row["held"] != held[(product["sku"], variant)]:
                problems.append(
                    f"{name}: {row['held']} held but orders hold {held[(product['sku'], variant)]}"
                )
            if row["sold"] != sold[(product["sku"], variant)]:
                problems.append(
                    f"{name}: {row['sold']} sold but orders paid {sold[(product['sku'], variant)]}"
                )
    return problems
