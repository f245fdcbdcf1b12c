"""The pure rules of auctions: the increment table, proxy bidding, extension, requests.

No I/O. `lua/auction_bid.lua` applies the same rules inside Redis (one script per bid);
the tests hold the two to the same hand-worked sequences, and docs/protocol.md prints
the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from live.commerce.rules import MAX_PRICE_CENTS
from live.errors import BadRequest, Conflict, LiveError, NotFound, Unprocessable
from live.settings import CommerceSettings
from live.validation import JsonObject, int_field

AUCTION_MODES = ("standard", "sudden_death")
DEFAULT_EXTEND_S = 10
MAX_EXTEND_S = 300

# (price from, in cents; increment in cents), ascending. The Lua copy is in _auction.lua.
INCREMENTS: tuple[tuple[int, int], ...] = (
    (0, 100),  # under $10: +$1
    (1_000, 200),  # $10 to $49.99: +$2
    (5_000, 500),  # $50 to $99.99: +$5
    (10_000, 1_000),  # $100 to $499.99: +$10
    (50_000, 2_500),  # $500 to $1,999.99: +$25
    (200_000, 5_000),  # $2,000 and over: +$50
)


def increment_for(price_cents: int) -> int:
    """The smallest raise over `price_cents`."""
    step = INCREMENTS[0][1]
    for floor, increment in INCREMENTS:
        if price_cents >= floor:
            step = increment
    return step


@dataclass(frozen=True)
class Standing:
    """Who leads an auction, at what price, and up to what max (hidden from others)."""

    price_cents: int
    leader_id: str | None
    max_cents: int


def min_bid(standing: Standing, start_cents: int) -> int:
    """The least a new bid may be: the start with no bid yet, else price + increment."""
    if standing.leader_id is None:
        return start_cents
    return standing.price_cents + increment_for(standing.price_cents)


def apply_bid(
    standing: Standing, start_cents: int, bidder: str, amount: int, max_cents: int
) -> Standing | None:
    """The standing after a bid, or None when the bid is too low. Proxy bidding: the
    losing max is bid up to, and the winner pays one increment above it, capped at its own
    max; between equal maxes the earlier one leads. A leader's bid only raises its max."""
    if amount < min_bid(standing, start_cents):
        return None
    top = max(amount, max_cents)
    if standing.leader_id is None:
        return Standing(amount, bidder, top)
    if standing.leader_id == bidder:
        return Standing(standing.price_cents, bidder, max(standing.max_cents, top))
    held = standing.max_cents
    if top > held:
        price = max(amount, min(top, held + increment_for(held)))
        return Standing(price, bidder, top)
    if top == held:
        return Standing(held, standing.leader_id, held)
    return Standing(min(held, top + increment_for(top)), standing.leader_id, held)


def extended_end(mode: str, ends_at: int, now: int, extend_s: int) -> int:
    """Standard mode: a bid in the last `extend_s` moves the end to now + extend_s.
    Sudden death never extends."""
    window = extend_s * 1000
    if mode == "standard" and ends_at - now < window:
        return now + window
    return ends_at


@dataclass(frozen=True)
class AuctionRequest:
    """A host's request for an auction, checked; times in seconds."""

    sku: str
    variant_id: str | None
    start_cents: int
    duration_s: int
    mode: str
    extend_s: int
    reserve_cents: int


def parse_auction_request(body: JsonObject, cfg: CommerceSettings) -> AuctionRequest:
    """The body of POST /api/rooms/{room_id}/auctions, field by field, or 400."""
    sku = body.get("sku")
    if not isinstance(sku, str) or not sku:
        raise BadRequest("`sku` is required", field="sku")
    variant = body.get("variant_id")
    if variant is not None and (not isinstance(variant, str) or not 0 < len(variant) <= 64):
        raise BadRequest("`variant_id` must be a string of 1 to 64 characters", field="variant_id")
    mode = body.get("mode", "standard")
    if mode not in AUCTION_MODES:
        raise BadRequest("`mode` must be standard or sudden_death", field="mode")
    return AuctionRequest(
        sku=sku,
        variant_id=variant,
        start_cents=int_field(body, "start_cents", low=0, high=MAX_PRICE_CENTS),
        duration_s=int_field(body, "duration_s", low=1, high=cfg.max_duration_s),
        mode=str(mode),
        extend_s=int_field(
            body, "extend_s", low=1, high=MAX_EXTEND_S, required=False, default=DEFAULT_EXTEND_S
        ),
        reserve_cents=int_field(
            body, "reserve_cents", low=0, high=MAX_PRICE_CENTS, required=False, default=0
        ),
    )


def parse_bid(body: JsonObject) -> tuple[int, int]:
    """`amount_cents` and `max_cents` of a bid (max defaults to the amount), or 400."""
    amount = int_field(body, "amount_cents", low=1, high=MAX_PRICE_CENTS)
    max_cents = int_field(
        body, "max_cents", low=1, high=MAX_PRICE_CENTS, required=False, default=amount
    )
    if max_cents < amount:
        raise BadRequest("`max_cents` must be at least `amount_cents`", field="max_cents")
    return amount, max_cents


def bid_fingerprint(amount: int, max_cents: int) -> str:
    """What makes two bids with one key "the same body"."""
    return f"{amount}:{max_cents}"


AUCTION_NUMBERS = (
    "start_cents",
    "price_cents",
    "increment_cents",
    "reserve_cents",
    "extend_s",
    "hold_s",
    "bids",
    "ends_at",
    "created_at",
    "ended_at",
)
# Fields of the auction hash never shown: the leader's max and bookkeeping.
AUCTION_INTERNAL = ("leader_max", "expire_at", "hold_s", "accepted", "last_bid_at")


def public_auction(fields: dict[str, Any]) -> dict[str, Any]:
    """The auction as answered, from its hash (decoded) or the scripts' JSON."""
    auction = {k: v for k, v in fields.items() if k not in AUCTION_INTERNAL}
    for name in AUCTION_NUMBERS:
        if name in auction and auction[name] not in (None, ""):
            auction[name] = int(auction[name])
    for name in ("leader_id", "leader_name", "winner_id", "winner_name", "order_id"):
        if auction.get(name) in ("", None):
            auction[name] = None
    auction["reserve_met"] = bool(auction.get("bids")) and int(auction["price_cents"]) >= int(
        auction.get("reserve_cents") or 0
    )
    return auction


def auction_from_hash(data: dict[bytes, bytes]) -> dict[str, Any]:
    return public_auction({k.decode(): v.decode() for k, v in data.items()})


def auction_from_json(raw: bytes | str) -> dict[str, Any]:
    return public_auction(orjson.loads(raw))


_BID_ERRORS = {
    "auction_ended": "the auction has ended",
    "bid_too_low": "a bid must be at least the price plus one increment",
    "room_ended": "the room has ended",
}


def bid_error(code: str, detail: str = "") -> LiveError:
    """The error for a bid script's outcome code."""
    if code == "bid_too_low":
        return Conflict(_BID_ERRORS[code], code=code, min_cents=int(detail or 0))
    if code in _BID_ERRORS:
        return Conflict(_BID_ERRORS[code], code=code)
    if code == "idempotency_mismatch":
        return Unprocessable(
            "this Idempotency-Key was used with another body", code="idempotency_mismatch"
        )
    return NotFound("no such auction")
