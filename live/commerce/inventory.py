"""The shop's pure rules: a product's inventory fields, bag lines, made-to-order dates.

No I/O. The numbers themselves live in Redis (live/commerce/bag.py, lua/inv.lua); this
module checks what a merchant or a buyer sent and computes what follows from it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import orjson

from live.errors import BadRequest
from live.validation import JsonObject, int_field, text_field

VARIANT_ID_RE = re.compile(r"^[a-z0-9-]{1,32}$")
# The inventory field name of a product without variants.
NO_VARIANT = "_"
MAX_VARIANTS = 50
MAX_STOCK = 1_000_000
MAX_PRICE_CENTS = 100_000_000
DEFAULT_MAX_PER_ORDER = 5
MAX_LINES = 20
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS


def parse_inventory(body: JsonObject) -> dict[str, Any]:
    """The inventory fields of a new product (`stock`, `variants`, `made_to_order`,
    `max_per_order`), checked. Pure."""
    max_per_order = int_field(
        body, "max_per_order", low=1, high=1000, required=False, default=DEFAULT_MAX_PER_ORDER
    )
    made = body.get("made_to_order")
    if made is not None:
        if not isinstance(made, dict):
            raise BadRequest("`made_to_order` must be an object", field="made_to_order")
        made_to_order = {
            "per_week": int_field(made, "per_week", low=1, high=100_000),
            "lead_days": int_field(made, "lead_days", low=0, high=3650),
        }
    else:
        made_to_order = None
    raw_variants = body.get("variants")
    variants: list[dict[str, Any]] = []
    if raw_variants is not None:
        if not isinstance(raw_variants, list) or len(raw_variants) > MAX_VARIANTS:
            raise BadRequest(
                f"`variants` must be a list of at most {MAX_VARIANTS} objects", field="variants"
            )
        for index, raw in enumerate(raw_variants):
            variants.append(_parse_variant(raw, index, stocked=made_to_order is None))
        if len({v["variant_id"] for v in variants}) != len(variants):
            raise BadRequest("`variant_id`s must differ", field="variants")
    stock = 0
    if made_to_order is None and not variants:
        stock = int_field(body, "stock", low=0, high=MAX_STOCK, required=False, default=0)
    return {
        "stock": stock,
        "variants": variants,
        "made_to_order": made_to_order,
        "max_per_order": max_per_order,
    }


def _parse_variant(raw: Any, index: int, *, stocked: bool) -> dict[str, Any]:
    where = f"variants[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"`{where}` must be an object", field=where)
    variant_id = raw.get("variant_id")
    if not isinstance(variant_id, str) or not VARIANT_ID_RE.match(variant_id):
        raise BadRequest(f"`{where}.variant_id` must match [a-z0-9-]{{1,32}}", field=where)
    variant: dict[str, Any] = {
        "variant_id": variant_id,
        "label": text_field(raw, "label", max_len=60),
        "stock": int_field(raw, "stock", low=0, high=MAX_STOCK, required=False, default=0)
        if stocked
        else 0,
    }
    if raw.get("price_cents") is not None:
        variant["price_cents"] = int_field(raw, "price_cents", low=0, high=MAX_PRICE_CENTS)
    return variant


def variant_keys(product: dict[str, Any]) -> list[str]:
    """The inventory fields' variant part: each variant id, or `_` without variants."""
    variants = product.get("variants") or []
    return [v["variant_id"] for v in variants] or [NO_VARIANT]


def initial_stock(product: dict[str, Any]) -> dict[str, int]:
    """variant key -> units on hand, for a new product."""
    if product.get("made_to_order"):
        return {key: 0 for key in variant_keys(product)}
    variants = product.get("variants") or []
    if variants:
        return {v["variant_id"]: int(v.get("stock", 0)) for v in variants}
    return {NO_VARIANT: int(product.get("stock", 0))}


class LineRequest(NamedTuple):
    """One line a buyer asked for (a tuple: many are made per checkout)."""

    sku: str
    variant_id: str | None
    qty: int


def parse_lines(body: JsonObject) -> list[LineRequest]:
    """The `lines` of a checkout body, shaped but not yet matched to products."""
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not 1 <= len(raw_lines) <= MAX_LINES:
        raise BadRequest(f"`lines` must be a list of 1 to {MAX_LINES} lines", field="lines")
    return [_parse_line(raw, index) for index, raw in enumerate(raw_lines)]


def _parse_line(raw: Any, index: int) -> LineRequest:
    if not isinstance(raw, dict):
        raise BadRequest(f"`lines[{index}]` must be an object", field=f"lines[{index}]")
    sku = raw.get("sku")
    if not isinstance(sku, str) or not sku or len(sku) > 64:
        raise BadRequest(f"`lines[{index}].sku` is required", field=f"lines[{index}]")
    variant = raw.get("variant_id")
    if variant is not None and not isinstance(variant, str):
        where = f"lines[{index}]"
        raise BadRequest(f"`{where}.variant_id` must be a string", field=where)
    qty = raw.get("qty", 1)
    if type(qty) is not int or not 1 <= qty <= 1000:
        where = f"lines[{index}]"
        raise BadRequest(f"`{where}.qty` must be a whole number from 1", field=where)
    return LineRequest(sku, variant, qty)


def priced_lines(
    requests: list[LineRequest], products: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each line with its variant, title, label and price from the catalog; 400 when a
    variant is missing or unknown, a line goes past `max_per_order`, or currencies mix."""
    lines = []
    per_unit: dict[tuple[str, str], int] = {}
    currency = None
    mixed = False
    for index, req in enumerate(requests):
        product = products[req.sku]
        variant = _variant_of(product, req.variant_id, index)
        key = (req.sku, req.variant_id or NO_VARIANT)
        taken = per_unit[key] = per_unit.get(key, 0) + req.qty
        limit = int(product.get("max_per_order") or DEFAULT_MAX_PER_ORDER)
        if taken > limit:
            where = f"lines[{index}]"
            raise BadRequest(f"`{where}.qty`: at most {limit} of this in one order", field=where)
        price = int((variant or {}).get("price_cents", product["price_cents"]))
        currency = currency or product["currency"]
        mixed = mixed or product["currency"] != currency
        line: dict[str, Any] = {
            "sku": req.sku,
            "variant_id": req.variant_id,
            "title": product["title"],
            "label": variant["label"] if variant else None,
            "qty": req.qty,
            "price_cents": price,
            "amount_cents": price * req.qty,
        }
        if product.get("made_to_order"):
            line["made_to_order"] = True
            line["made_to_order_terms"] = dict(product["made_to_order"])
        lines.append(line)
    if mixed:
        raise BadRequest("all lines must be in one currency", code="mixed_currency")
    return lines


def _variant_of(product: dict[str, Any], variant_id: str | None, index: int) -> Any:
    """The line's variant of `product` (None for a product without variants), or 400."""
    variants = product.get("variants") or ()
    where = f"lines[{index}]"
    if not variants:
        if variant_id is not None:
            raise BadRequest(f"`{where}`: this product has no variants", field=where)
        return None
    if variant_id is None:
        raise BadRequest(f"`{where}.variant_id` is required for this product", field=where)
    for variant in variants:
        if variant["variant_id"] == variant_id:
            return variant
    raise BadRequest(f"`{where}.variant_id` is not one of this product's", field=where)


def checkout_fingerprint(requests: list[LineRequest]) -> str:
    """What makes two checkouts with one key "the same body"."""
    return orjson.dumps([[r.sku, r.variant_id, r.qty] for r in requests]).decode()


def week_of(position: int, per_week: int) -> int:
    """The week (0 = the first) in which the unit at queue `position` (1-based) is made."""
    return (position - 1) // per_week


def ships_by(placed_ms: int, last_position: int, per_week: int, lead_days: int) -> str:
    """The ship-by date (ISO, UTC) of a made-to-order line whose last unit stands at
    `last_position`: lead time, plus one week for every full week of capacity before it."""
    at = placed_ms + lead_days * DAY_MS + week_of(last_position, per_week) * WEEK_MS
    return dt.datetime.fromtimestamp(at / 1000, tz=dt.UTC).date().isoformat()


def availability(
    product: dict[str, Any], counts: dict[str, dict[str, int]], now_ms: int = 0
) -> dict[str, Any]:
    """The product as answered with `available` (and per variant), from the inventory
    counts (`variant key -> {stock, available, held, sold}`); a made-to-order product has
    `queue` (units ordered and not yet shipped) and `next_ships_by` instead."""
    answer = dict(product)
    made = product.get("made_to_order")
    if made:
        queue = sum(
            c.get("held", 0) + c.get("sold", 0) - c.get("shipped", 0) for c in counts.values()
        )
        answer["queue"] = queue
        answer["available"] = None
        answer["next_ships_by"] = ships_by(now_ms, queue + 1, made["per_week"], made["lead_days"])
        return answer
    variants = product.get("variants") or []
    if variants:
        answer["variants"] = [{**v, **_numbers(counts.get(v["variant_id"], {}))} for v in variants]
        answer["stock"] = sum(v["stock"] for v in answer["variants"])
        answer["available"] = sum(v["available"] for v in answer["variants"])
    else:
        answer.update(_numbers(counts.get(NO_VARIANT, {})))
    return answer


def _numbers(count: dict[str, int]) -> dict[str, int]:
    return {
        "stock": count.get("stock", 0),
        "available": count.get("available", 0),
        "held": count.get("held", 0),
        "sold": count.get("sold", 0),
    }


def counts_from_hash(data: dict[bytes, bytes]) -> dict[str, dict[str, int]]:
    """The inventory hash (`s:<v>`, `a:<v>`, `h:<v>`, `d:<v>`, `x:<v>`) as counts."""
    names = {"s": "stock", "a": "available", "h": "held", "d": "sold", "x": "shipped"}
    counts: dict[str, dict[str, int]] = {}
    for raw_field, raw_value in data.items():
        kind, _, variant = raw_field.decode().partition(":")
        if kind in names and variant:
            counts.setdefault(variant, {})[names[kind]] = int(raw_value)
    return counts
