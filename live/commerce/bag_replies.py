"""What the bag's scripts answer, read; what a new bag order is made of. Pure: no I/O.

`inv.lua` answers each product step with the product's inventory hash as it now is (the
flat list HGETALL gives), so the counts are read here, in the caller, rather than turned
into JSON in Redis.
"""

from __future__ import annotations

from typing import Any

import orjson

from live.commerce.inventory import NO_VARIANT, ships_by

Counts = dict[str, dict[str, int]]
# One product step's answer: (code, the inventory hash as a flat list, extra).
ProductReply = tuple[bytes, list[bytes], bytes]

_NAMES = {b"s": "stock", b"a": "available", b"h": "held", b"d": "sold", b"x": "shipped"}


def counts_of(flat: list[bytes]) -> Counts:
    """variant key -> {stock, available, held, sold, shipped} from `s:v`, `a:v`, ... fields."""
    counts: Counts = {}
    for i in range(0, len(flat) - 1, 2):
        kind, _, variant = flat[i].partition(b":")
        name = _NAMES.get(kind)
        if name is not None and variant:
            counts.setdefault(variant.decode(), {})[name] = int(flat[i + 1])
    return counts


def availability(counts: Counts) -> dict[str, Any] | None:
    """A product's entry of the `lineup_stock` event: {available, variants?, queue?}."""
    if not counts:
        return None
    variants = {v: c.get("available", 0) for v, c in counts.items() if v != NO_VARIANT}
    queue = sum(c.get("held", 0) + c.get("sold", 0) - c.get("shipped", 0) for c in counts.values())
    entry: dict[str, Any] = {"available": sum(c.get("available", 0) for c in counts.values())}
    if variants:
        entry["variants"] = variants
    if all(c.get("stock", 0) == 0 for c in counts.values()) and queue:
        entry["queue"] = queue
    return entry


def availability_args(replies: dict[str, ProductReply]) -> list[bytes | str]:
    """The scripts' availability arguments: sku, JSON, sku, JSON, ... (see _shop.lua)."""
    out: list[bytes | str] = []
    for sku, (_, flat, _) in replies.items():
        entry = availability(counts_of(flat))
        if entry is not None:
            out += [sku, orjson.dumps(entry)]
    return out


def available_of(flat: list[bytes], line: dict[str, Any]) -> int:
    counts = counts_of(flat)
    return counts.get(line.get("variant_id") or NO_VARIANT, {}).get("available", 0)


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
