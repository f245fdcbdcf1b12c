"""The pure rules of flash sales and orders: requests, answers, and script outcomes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from live.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LiveError,
    NotFound,
    RateLimited,
    Unprocessable,
)
from live.settings import CommerceSettings
from live.validation import JsonObject, int_field

MAX_PRICE_CENTS = 100_000_000
MAX_PER_BUYER = 1000
IDEMPOTENCY_KEY_MAX = 200
_VISIBLE_ASCII = re.compile(r"[!-~]+")
SALE_STATUSES = ("scheduled", "open", "sold_out", "closed")
ORDER_STATUSES = ("held", "paid", "cancelled", "expired")
SALE_NUMBERS = (
    "stock",
    "left",
    "held",
    "sold",
    "per_buyer_limit",
    "price_cents",
    "hold_s",
    "starts_at",
    "ends_at",
    "created_at",
    "closed_at",
    "offered",
    "waiting",
    "offer_s",
)
ORDER_FIELDS = (
    "order_id",
    "order_no",
    "sale_id",
    "room_id",
    "user_id",
    "sku",
    "title",
    "qty",
    "price_cents",
    "currency",
    "amount_cents",
    "status",
    "created_at",
    "expires_at",
    "paid_at",
    "released_at",
    "payment_id",
    "carrier",
    "tracking",
    "shipped_at",
    "delivered_at",
    "refunded_cents",
)
# Fields of a shop order (and after-sale steps) answered beside ORDER_FIELDS; `lines` is
# made for a sale order from its own fields.
ORDER_EXTRA_FIELDS = ("shipping", "return_reason", "return_requested_at", "refunded_at", "v")


@dataclass(frozen=True)
class SaleRequest:
    """A host's request for a sale, checked; times in seconds."""

    sku: str
    stock: int
    price_cents: int
    per_buyer_limit: int
    hold_s: int
    duration_s: int
    starts_in_s: int


def parse_sale_request(body: JsonObject, cfg: CommerceSettings) -> SaleRequest:
    """The body of POST /api/rooms/{room_id}/sales, field by field, or 400."""
    sku = body.get("sku")
    if not isinstance(sku, str) or not sku:
        raise BadRequest("`sku` is required", field="sku")
    stock = int_field(body, "stock", low=1, high=cfg.max_stock)
    return SaleRequest(
        sku=sku,
        stock=stock,
        price_cents=int_field(body, "price_cents", low=0, high=MAX_PRICE_CENTS),
        per_buyer_limit=int_field(body, "per_buyer_limit", low=1, high=MAX_PER_BUYER),
        hold_s=int_field(body, "hold_s", low=1, high=cfg.max_hold_s),
        duration_s=int_field(body, "duration_s", low=1, high=cfg.max_duration_s),
        starts_in_s=int_field(
            body, "starts_in_s", low=0, high=cfg.max_duration_s, required=False, default=0
        ),
    )


def parse_qty(body: JsonObject) -> int:
    """`qty` of a buy: a whole number from 1 (the sale's own limit is checked in Redis)."""
    return int_field(body, "qty", low=1, high=MAX_PER_BUYER)


def parse_idempotency_key(value: str | None) -> str:
    """The `Idempotency-Key` header: required, 1 to 200 visible ASCII characters."""
    if value is None or not value.strip():
        raise BadRequest("the `Idempotency-Key` header is required", field="Idempotency-Key")
    if len(value) > IDEMPOTENCY_KEY_MAX or not _VISIBLE_ASCII.fullmatch(value):
        raise BadRequest(
            f"`Idempotency-Key` must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters",
            field="Idempotency-Key",
        )
    return value


def buy_fingerprint(qty: int) -> str:
    """What makes two buys with one key "the same body"."""
    return f"qty={qty}"


def sale_from_hash(data: dict[bytes, bytes]) -> dict[str, Any]:
    """The sale as answered, from its Redis hash."""
    sale: dict[str, Any] = {k.decode(): v.decode() for k, v in data.items()}
    for name in SALE_NUMBERS:
        if name in sale:
            sale[name] = int(sale[name])
    for internal in ("expire_at", "stock_at", "stock_dirty", "rate_s", "waitlist_no"):
        sale.pop(internal, None)
    sale.setdefault("closed_at", None)
    return sale


def address_limit_key(ip: str) -> str:
    """The field an anonymous buyer's address is counted under in a sale's buyers hash
    (`[commerce] anonymous_limit_by_ip`): a digest, so the hash holds no addresses."""
    return "a " + hashlib.blake2b(ip.encode(), digest_size=12).hexdigest()


def public_order(raw: bytes | str) -> dict[str, Any]:
    """The order as answered, from its stored JSON."""
    stored = orjson.loads(raw)
    order = {name: stored.get(name) for name in ORDER_FIELDS}
    for name in ORDER_EXTRA_FIELDS:
        order[name] = stored.get(name)
    order["lines"] = stored.get("lines") or [
        {
            "sku": stored.get("sku"),
            "variant_id": None,
            "title": stored.get("title"),
            "label": None,
            "qty": stored.get("qty"),
            "price_cents": stored.get("price_cents"),
            "amount_cents": stored.get("amount_cents"),
        }
    ]
    return order


_CONFLICT_MESSAGES = {
    "sold_out": "the sale is sold out",
    "not_enough_left": "fewer units are left than asked for",
    "limit_reached": "this would take you past the sale's per-buyer limit",
    "sale_not_open": "the sale is not open",
    "hold_expired": "the hold has expired; its units went back to the sale",
    "order_cancelled": "the order was cancelled",
    "already_paid": "the order is paid; it cannot be cancelled",
}


def outcome_error(code: str, detail: str = "") -> LiveError:
    """The error for a script's outcome code."""
    if code in _CONFLICT_MESSAGES:
        extra = {"left": int(detail)} if code in ("sold_out", "not_enough_left") else {}
        if code == "limit_reached" and detail:
            extra = {"allowed": max(0, int(detail))}
        return Conflict(_CONFLICT_MESSAGES[code], code=code, **extra)
    if code == "idempotency_mismatch":
        return Unprocessable(
            "this Idempotency-Key was used with another body", code="idempotency_mismatch"
        )
    if code == "rate_limited":
        return RateLimited("too many buy attempts; slow down")
    if code == "bad_request":
        return BadRequest(f"`qty` must be from 1 to the sale's limit of {detail}", field="qty")
    if code == "forbidden":
        return Forbidden("this order is not yours")
    return NotFound("not found")


def conversion(buyers: int, peak_viewers: int) -> float:
    """Paying buyers over peak viewers (0 with no viewers), rounded to 4 places."""
    if peak_viewers <= 0:
        return 0.0
    return round(buyers / peak_viewers, 4)
