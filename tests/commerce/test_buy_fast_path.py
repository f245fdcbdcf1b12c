"""The buy endpoint answers in front of Starlette's stack (live/api/fastbuy.py): what a client
and an operator see must be what every other endpoint gives. Every test runs over both buy
paths (the fast path and Starlette's routing), which must answer alike."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.commerce.helpers import BUY_PATHS, open_shop
from tests.conftest import LiveServer


@pytest.fixture(params=BUY_PATHS)
def app_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every test here runs over both buy paths (tests/commerce/helpers.py)."""
    options: dict[str, Any] = request.param
    return options


def error_code(answer: object) -> str:
    code: str = answer.json()["error"]["code"]  # type: ignore[attr-defined]
    return code


async def test_bad_requests_get_the_usual_error_bodies(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    path = f"/api/sales/{sale['sale_id']}/orders"
    token = shop.viewer()
    key = {"Idempotency-Key": "k1"}
    http = live_server.http

    basic = await http.post(path, json={"qty": 1}, headers={"Authorization": "Basic x", **key})
    assert basic.status_code == 401 and error_code(basic) == "unauthorized"
    forged = await live_server.as_user(token + "x", "POST", path, json={"qty": 1}, headers=key)
    assert forged.status_code == 401 and error_code(forged) == "unauthorized"
    for body in (b"", b"nope", b"[1]", b'{"qty": "1"}'):
        answer = await live_server.as_user(token, "POST", path, content=body, headers=key)
        assert answer.status_code == 400 and error_code(answer) == "bad_request", body
    big = b'{"qty": 1, "pad": "' + b"x" * 70_000 + b'"}'
    too_large = await live_server.as_user(token, "POST", path, content=big, headers=key)
    assert too_large.status_code == 413 and error_code(too_large) == "too_large"
    for other in ("/api/sales/s_nope_abcdefgh/orders", "/api/sales/nope/orders"):
        missing = await live_server.as_user(token, "POST", other, json={"qty": 1}, headers=key)
        assert missing.status_code == 404 and error_code(missing) == "not_found", other
    wrong_method = await live_server.as_user(token, "GET", path)
    assert wrong_method.status_code == 405 and error_code(wrong_method) == "method_not_allowed"
    assert (await http.post("/api/sales//orders", json={"qty": 1})).status_code == 404
    # Nothing above took a unit.
    assert (await shop.sale(sale["sale_id"]))["left"] == sale["stock"]


async def test_buys_are_logged_and_counted_under_their_route(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(stock=1)
    token = shop.viewer()
    with caplog.at_level(logging.INFO, logger="live.access"):
        assert (await shop.buy(token, sale["sale_id"])).status_code == 201
        assert (await shop.buy(token, sale["sale_id"])).status_code == 409
    lines = [r for r in caplog.records if r.name == "live.access"]
    path = f"/api/sales/{sale['sale_id']}/orders"
    assert [(r.path, r.status) for r in lines] == [(path, 201), (path, 409)]  # type: ignore[attr-defined]
    text = (await live_server.http.get("/metrics")).text
    for status in ("201", "409"):
        labels = f'method="POST",route="buy",status="{status}"'
        pattern = r"live_http_requests_total\{" + labels + r"\} [1-9]"
        assert re.search(pattern, text), status
    assert re.search(r'live_orders_total\{outcome="sold_out"\} [1-9]', text)


async def test_an_order_lives_as_long_as_its_idempotency_key(live_server: LiveServer) -> None:
    """A retry answers the order for as long as the key is remembered, never a 404."""
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    answer = await shop.buy(shop.viewer(), sale["sale_id"])
    assert answer.status_code == 201
    order = answer.json()
    svc = live_server.parts
    room_id, sale_id = order["room_id"], order["sale_id"]
    order_ttl = await svc.redis.pttl(svc.keys.order(room_id, order["order_id"]))
    key_ttl = await svc.redis.pttl(svc.keys.sale_idempotency(room_id, sale_id))
    assert key_ttl > 0 and order_ttl >= key_ttl - 1000


async def test_sale_keys_expire_after_being_emptied_and_filled_again(
    live_server: LiveServer,
) -> None:
    """buy.lua checks the expiry of the hold set and buyer counts only when they may have
    been emptied (nothing held, or nothing held or sold): refilled ones must expire too."""
    shop = await open_shop(live_server)
    sale = await shop.new_sale()
    svc = live_server.parts
    room_id, sale_id = shop.room_id, sale["sale_id"]
    keys = [
        svc.keys.sale_holds(room_id, sale_id),
        svc.keys.sale_buyers(room_id, sale_id),
        svc.keys.sale_idempotency(room_id, sale_id),
    ]
    token = shop.viewer()
    for _ in range(2):
        order = (await shop.buy(token, sale_id)).json()
        for key in keys:
            assert await svc.redis.pttl(key) > 0, key
        cancel = await live_server.as_user(token, "POST", f"/api/orders/{order['order_id']}/cancel")
        assert cancel.status_code == 200
        # Nothing held or bought: the hold set and the buyer counts are gone.
        assert await svc.redis.exists(*keys[:2]) == 0
    second_buyer = shop.viewer("Ana")
    assert (await shop.buy(token, sale_id)).status_code == 201
    assert (await shop.buy(second_buyer, sale_id)).status_code == 201
    for key in keys:
        assert await svc.redis.pttl(key) > 0, key
