"""The increment table and proxy bidding, as pure rules (the Lua copy is held to the same
sequences in test_auctions.py)."""

from __future__ import annotations

import pytest

from live.commerce.auction_rules import (
    Standing,
    apply_bid,
    extended_end,
    increment_for,
    min_bid,
    parse_auction_request,
    parse_bid,
)
from live.errors import BadRequest
from live.settings import CommerceSettings

NOBODY = Standing(0, None, 0)


@pytest.mark.parametrize(
    ("price", "increment"),
    [
        (0, 100),
        (999, 100),
        (1_000, 200),
        (4_999, 200),
        (5_000, 500),
        (9_999, 500),
        (10_000, 1_000),
        (49_999, 1_000),
        (50_000, 2_500),
        (199_999, 2_500),
        (200_000, 5_000),
        (10_000_000, 5_000),
    ],
)
def test_the_increment_grows_with_the_price(price: int, increment: int) -> None:
    assert increment_for(price) == increment


# Start $10. Each step: bidder, amount, max -> price, leader (worked by hand).
HAND_WORKED = [
    ("A", 1000, 5000, 1000, "A"),  # the first bid may be the start itself
    ("B", 1200, 1200, 1400, "A"),  # A's max answers one increment ($2) above B
    ("C", 3000, 6000, 5500, "C"),  # C beats A's max by one increment ($5 at $50)
    ("A", 6000, 6000, 6000, "C"),  # equal maxes: the earlier (C) leads
    ("B", 6500, 8000, 6500, "B"),  # one increment over C's 6000 max, and B's own amount
    ("B", 7000, 9000, 6500, "B"),  # the leader raises its max: the price stays
    ("C", 7000, 8500, 9000, "B"),  # B's max answers 8500 + $5, capped at its 9000
]


def test_proxy_bidding_follows_the_hand_worked_sequence() -> None:
    standing = NOBODY
    for bidder, amount, top, price, leader in HAND_WORKED:
        after = apply_bid(standing, 1000, bidder, amount, top)
        assert after is not None, (bidder, amount)
        assert (after.price_cents, after.leader_id) == (price, leader), (bidder, amount)
        standing = after
    assert standing.max_cents == 9000


def test_bids_under_price_plus_increment_are_refused() -> None:
    assert apply_bid(NOBODY, 1000, "A", 999, 999) is None
    standing = Standing(1000, "A", 1000)
    assert min_bid(standing, 1000) == 1200
    assert apply_bid(standing, 1000, "B", 1199, 5000) is None
    assert apply_bid(standing, 1000, "B", 1200, 1200) == Standing(1200, "B", 1200)


def test_between_equal_maxes_the_earlier_leads() -> None:
    standing = apply_bid(NOBODY, 500, "A", 500, 3000)
    assert standing is not None
    tied = apply_bid(standing, 500, "B", 600, 3000)
    assert tied == Standing(3000, "A", 3000)


def test_standard_mode_extends_only_in_the_last_seconds() -> None:
    assert extended_end("standard", 100_000, 95_000, 10) == 105_000
    assert extended_end("standard", 100_000, 85_000, 10) == 100_000
    assert extended_end("sudden_death", 100_000, 99_999, 10) == 100_000


def test_requests_are_checked_field_by_field() -> None:
    cfg = CommerceSettings()
    request = parse_auction_request({"sku": "s", "start_cents": 100, "duration_s": 30}, cfg)
    assert (request.mode, request.extend_s, request.reserve_cents) == ("standard", 10, 0)
    with pytest.raises(BadRequest):
        parse_auction_request({"sku": "s", "start_cents": 1, "duration_s": 1, "mode": "x"}, cfg)
    assert parse_bid({"amount_cents": 500}) == (500, 500)
    with pytest.raises(BadRequest):
        parse_bid({"amount_cents": 500, "max_cents": 400})
