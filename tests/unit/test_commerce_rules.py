"""The pure rules of sales and orders: ids, requests, outcomes."""

from __future__ import annotations

import pytest

from live.commerce.ids import new_order_id, new_sale_id, room_of
from live.commerce.rules import (
    conversion,
    outcome_error,
    parse_idempotency_key,
    parse_qty,
    parse_sale_request,
    public_order,
    sale_from_hash,
)
from live.errors import BadRequest, Conflict, NotFound, RateLimited, Unprocessable
from live.settings import CommerceSettings


@pytest.mark.parametrize("room_id", ["r_abc123XYZxyz", "r_a", "room-1"])
def test_ids_carry_their_room(room_id: str) -> None:
    assert room_of(new_sale_id(room_id), "s") == room_id
    assert room_of(new_order_id(room_id), "o") == room_id


@pytest.mark.parametrize(
    "bad", ["", "s_", "s__abcdefgh", "x_r_1_abcdefgh", "s_r_1_ab", "s_r 1_abcdefgh", "s_r_1"]
)
def test_malformed_ids_are_not_found(bad: str) -> None:
    with pytest.raises(NotFound):
        room_of(bad, "s")


def test_an_order_id_is_not_a_sale_id() -> None:
    with pytest.raises(NotFound):
        room_of(new_order_id("r_abc"), "s")


def sale_body(**fields: object) -> dict[str, object]:
    return {
        "sku": "mug",
        "stock": 100,
        "price_cents": 990,
        "per_buyer_limit": 2,
        "hold_s": 300,
        "duration_s": 600,
        **fields,
    }


def test_sale_request_defaults_to_starting_now() -> None:
    request = parse_sale_request(sale_body(), CommerceSettings())
    assert request.starts_in_s == 0 and request.stock == 100


@pytest.mark.parametrize(
    "fields",
    [
        {"stock": 0},
        {"stock": 10**9},
        {"price_cents": -1},
        {"per_buyer_limit": 0},
        {"hold_s": 0},
        {"hold_s": 10**6},
        {"duration_s": 0},
        {"starts_in_s": -5},
        {"stock": "3"},
        {"stock": True},
        {"sku": None},
    ],
)
def test_sale_request_refuses_bad_fields(fields: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        parse_sale_request(sale_body(**fields), CommerceSettings())


@pytest.mark.parametrize("qty", [0, -1, 1.0, "1", True, None, 10**6])
def test_qty_must_be_a_positive_whole_number(qty: object) -> None:
    with pytest.raises(BadRequest):
        parse_qty({"qty": qty})


@pytest.mark.parametrize("key", [None, "", "   ", "a b", "é", "x" * 201])
def test_idempotency_keys_are_visible_ascii(key: str | None) -> None:
    with pytest.raises(BadRequest):
        parse_idempotency_key(key)
    assert parse_idempotency_key("order-7f3a") == "order-7f3a"


def test_outcomes_map_to_the_contract_codes() -> None:
    for code in ("sold_out", "not_enough_left", "limit_reached", "sale_not_open"):
        error = outcome_error(code, "0")
        assert isinstance(error, Conflict) and error.code == code and error.status == 409
    for code in ("hold_expired", "order_cancelled", "already_paid"):
        assert outcome_error(code).code == code
    assert isinstance(outcome_error("idempotency_mismatch"), Unprocessable)
    assert outcome_error("idempotency_mismatch").status == 422
    assert isinstance(outcome_error("rate_limited"), RateLimited)
    assert isinstance(outcome_error("bad_request", "2"), BadRequest)
    assert isinstance(outcome_error("not_found"), NotFound)


def test_answers_from_stored_forms() -> None:
    sale = sale_from_hash({b"sale_id": b"s_r_1_abcdefgh", b"stock": b"5", b"expire_at": b"9"})
    assert sale == {"sale_id": "s_r_1_abcdefgh", "stock": 5, "closed_at": None}
    order = public_order(b'{"order_id":"o_r_1_abcdefgh","qty":2,"internal":1}')
    assert order["order_id"] == "o_r_1_abcdefgh" and order["qty"] == 2
    assert "internal" not in order and order["paid_at"] is None


def test_conversion_is_buyers_over_peak_viewers() -> None:
    assert conversion(3, 0) == 0.0
    assert conversion(1, 3) == 0.3333


def test_order_ids_are_distinct_and_carry_their_room() -> None:
    ids = {new_order_id("r_Room-1") for _ in range(2000)}
    assert len(ids) == 2000
    assert {room_of(order_id, "o") for order_id in ids} == {"r_Room-1"}
