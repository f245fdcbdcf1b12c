"""What happens to an order after it is placed: a pure transition table. No I/O.

`decide` takes the order as read and an action, and answers the order as it becomes, the
field Redis stamps with its clock, the product steps owed (journaled with the change) and
the room's totals to add; lua/order_step.lua applies it only if the order has not changed
since it was read. Anything the table does not allow is 409 `bad_transition`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from live.errors import BadRequest, Conflict, Forbidden
from live.validation import JsonObject, text_field

DAY_MS = 86_400_000

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "pay": (frozenset({"held"}), "paid"),
    "cancel": (frozenset({"held"}), "cancelled"),
    "shipping": (frozenset({"held"}), "held"),
    "ship": (frozenset({"paid"}), "shipped"),
    "deliver": (frozenset({"shipped"}), "delivered"),
    "return": (frozenset({"paid", "shipped", "delivered"}), "return_requested"),
    "refund": (
        frozenset({"paid", "shipped", "delivered", "return_requested", "partly_refunded"}),
        "refunded",
    ),
}
STAMPS = {
    "pay": "paid_at",
    "cancel": "released_at",
    "ship": "shipped_at",
    "deliver": "delivered_at",
    "return": "return_requested_at",
    "refund": "refunded_at",
}


@dataclass(frozen=True)
class Decision:
    order: dict[str, Any]
    expected_status: str
    expected_version: int
    stamp: str = ""
    journal_op: str = ""
    journal_extra: dict[str, Any] = field(default_factory=dict)
    journal_lines: list[dict[str, Any]] | None = None
    totals: dict[str, int] = field(default_factory=dict)
    check_hold: bool = False
    leave_holds: bool = False
    paying_buyer: bool = False


def order_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's lines; a sale order has one, made from its own fields."""
    lines = order.get("lines")
    if lines:
        return [dict(line) for line in lines]
    return [
        {
            "sku": order.get("sku"),
            "variant_id": None,
            "title": order.get("title"),
            "label": None,
            "qty": order.get("qty"),
            "price_cents": order.get("price_cents"),
            "amount_cents": order.get("amount_cents"),
        }
    ]


def numbered(lines: list[dict[str, Any]], indexes: list[int]) -> list[dict[str, Any]]:
    """The journal's view of some lines: index, sku, variant, qty, made-to-order."""
    return [
        {
            "i": i,
            "sku": lines[i]["sku"],
            "variant_id": lines[i].get("variant_id"),
            "qty": lines[i]["qty"],
            "made_to_order": bool(lines[i].get("made_to_order")),
        }
        for i in indexes
    ]


def decide(
    order: dict[str, Any],
    action: str,
    params: JsonObject,
    *,
    now_ms: int,
    return_days: int,
) -> Decision:
    """The step `action` takes `order` through, or 409 `bad_transition` (400 on bad params)."""
    allowed_from, status = TRANSITIONS[action]
    current = order["status"]
    if current not in allowed_from:
        raise Conflict(
            f"an order that is {current} cannot be {action}",
            code="bad_transition",
            order_status=current,
        )
    bag = order.get("sale_id") is None
    lines = order_lines(order)
    new = {**order, "status": status}
    base = {"expected_status": current, "expected_version": int(order.get("v") or 0)}
    if action == "pay":
        totals = {"orders": 1, "units_sold": order["qty"], "gmv_cents": order["amount_cents"]}
        return Decision(
            new,
            **base,
            stamp="paid_at",
            totals=totals,
            check_hold=True,
            leave_holds=True,
            paying_buyer=True,
        )
    if action == "cancel":
        return Decision(
            new,
            **base,
            stamp="released_at",
            journal_op="release",
            check_hold=True,
            leave_holds=True,
        )
    if action == "shipping":
        return Decision({**new, "shipping": parse_shipping(params)}, **base)
    if action == "ship":
        new["carrier"] = text_field(params, "carrier", max_len=60)
        new["tracking"] = text_field(params, "tracking", max_len=100)
        mto = [i for i, line in enumerate(lines) if line.get("made_to_order")]
        op = "ship" if bag and mto else ""
        return Decision(
            new, **base, stamp="shipped_at", journal_op=op, journal_lines=numbered(lines, mto)
        )
    if action == "deliver":
        return Decision(new, **base, stamp="delivered_at")
    if action == "return":
        paid_at = int(order.get("paid_at") or 0)
        if now_ms > paid_at + return_days * DAY_MS:
            raise Conflict(
                f"returns are taken within {return_days} days of payment",
                code="bad_transition",
                order_status=current,
            )
        new["return_reason"] = text_field(params, "reason", max_len=500, required=False) or None
        return Decision(new, **base, stamp="return_requested_at", totals={"returns": 1})
    return _refund(order, new, lines, params, base, bag)


def _refund(
    order: dict[str, Any],
    new: dict[str, Any],
    lines: list[dict[str, Any]],
    params: JsonObject,
    base: dict[str, Any],
    bag: bool,
) -> Decision:
    restock = params.get("restock", False)
    if not isinstance(restock, bool):
        raise BadRequest("`restock` must be true or false", field="restock")
    open_lines = [i for i, line in enumerate(lines) if not line.get("refunded")]
    chosen = _chosen_lines(params.get("lines"), lines, open_lines)
    for i in chosen:
        lines[i]["refunded"] = True
    refunded = sum(int(lines[i]["amount_cents"] or 0) for i in chosen)
    new["lines"] = lines if bag else order.get("lines")
    if not bag:
        new.pop("lines", None)
    new["refunded_cents"] = int(order.get("refunded_cents") or 0) + refunded
    if any(not line.get("refunded") for line in lines):
        new["status"] = "partly_refunded"
    totals = {"refunds": 1, "refunded_cents": refunded}
    if order.get("status") != "partly_refunded":
        totals["refunded_orders"] = 1
    op = f"refund.{int(order.get('v') or 0)}" if bag else ""
    return Decision(
        new,
        **base,
        stamp="refunded_at",
        journal_op=op,
        journal_extra={"restock": restock},
        journal_lines=numbered(lines, chosen),
        totals=totals,
    )


def _chosen_lines(raw: Any, lines: list[dict[str, Any]], open_lines: list[int]) -> list[int]:
    """The lines a refund names (indexes, or {sku, variant_id}); every open one when none."""
    if raw is None:
        return open_lines
    if not isinstance(raw, list) or not raw:
        raise BadRequest("`lines` must be a non-empty list", field="lines")
    chosen: list[int] = []
    for item in raw:
        if isinstance(item, int) and not isinstance(item, bool):
            index = item
        elif isinstance(item, dict):
            matches = [
                i
                for i, line in enumerate(lines)
                if line["sku"] == item.get("sku")
                and line.get("variant_id") == item.get("variant_id")
            ]
            index = matches[0] if matches else -1
        else:
            index = -1
        if index not in open_lines:
            raise BadRequest(
                "`lines` names a line this order has not (or already refunded)", field="lines"
            )
        if index not in chosen:
            chosen.append(index)
    return chosen


SHIPPING_FIELDS = {"name": 100, "phone": 40, "address": 300, "postcode": 20, "country": 2}


def parse_shipping(body: Any) -> dict[str, str]:
    """A shipping address: name, phone, address, postcode, country (ISO two letters)."""
    if not isinstance(body, dict):
        raise BadRequest("`shipping` must be an object", field="shipping")
    out = {name: text_field(body, name, max_len=most) for name, most in SHIPPING_FIELDS.items()}
    if not (len(out["country"]) == 2 and out["country"].isalpha()):
        raise BadRequest("`country` must be a two-letter code", field="country")
    out["country"] = out["country"].upper()
    return out


def check_actor(order: dict[str, Any], action: str, user_id: str, is_staff: bool) -> None:
    """Who may take a step: the buyer pays, sets shipping and asks to return; staff ship,
    deliver and refund; either may cancel."""
    buyer = order["user_id"] == user_id
    if action in ("pay", "shipping", "return") and not buyer:
        raise Forbidden("only the order's buyer may do this")
    if action in ("ship", "deliver", "refund") and not is_staff:
        raise Forbidden("only the room's host or an admin may do this")
    if action == "cancel" and not (buyer or is_staff):
        raise Forbidden("only its buyer, the room's host or an admin may cancel this order")
