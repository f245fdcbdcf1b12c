"""What the bag's scripts answer, read; what a new bag order is made of. Pure: no I/O.

`inv.lua` answers each product step with the product's entry of the room's `lineup_stock`
event, ready-made JSON, which the checkout hands on to `bag_commit.lua` without reading.
"""

from __future__ import annotations

from typing import Any

import orjson

from live.commerce.inventory import ships_by

# One product step's answer: (code, the product's availability JSON, extra).
ProductReply = tuple[bytes, bytes, bytes]


def availability_args(replies: dict[str, ProductReply]) -> list[bytes | str]:
    """The scripts' availability arguments: sku, JSON, sku, JSON, ... (see _shop.lua)."""
    out: list[bytes | str] = []
    for sku, (_, entry, _) in replies.items():
        if entry:
            out += [sku, entry]
    return out


def available_of(entry: bytes, line: dict[str, Any]) -> int:
    """Units left of a line's variant, from its product's availability JSON."""
    found = orjson.loads(entry) if entry else {}
    variant = line.get("variant_id")
    if variant is not None:
        return int((found.get("variants") or {}).get(variant, 0))
    return int(found.get("available") or 0)


def fill_positions(lines: list[dict[str, Any]], replies: dict[str, ProductReply], now: int) -> None:
    """Each made-to-order line's queue position and ship-by date, from its reserve reply."""
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


def new_order(
    order_id: str,
    room_id: str,
    user_id: str,
    lines: list[dict[str, Any]],
    currency: str,
    shipping: dict[str, str] | None,
) -> dict[str, Any]:
    """A bag order as its checkout writes it (bag_commit.lua adds its number and times)."""
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


def open_object(document: dict[str, Any]) -> bytes:
    """`document`'s JSON without its closing brace, for a script to append fields to."""
    raw = orjson.dumps(document)
    assert raw.endswith(b"}")
    return raw[:-1]
