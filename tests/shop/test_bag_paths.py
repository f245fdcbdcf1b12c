"""The bag checkout answers in front of Starlette's stack too (live/api/fastbuy.py): over
both paths (the fast path and Starlette's routing) a client and an operator see the same
answers, errors, access log lines and metrics."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.commerce.helpers import BUY_PATHS
from tests.conftest import LiveServer
from tests.shop.helpers import open_shop_room


@pytest.fixture(params=BUY_PATHS)
def app_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = request.param
    return options


def error_code(answer: Any) -> str:
    code: str = answer.json()["error"]["code"]
    return code


async def test_checkout_refusals_get_the_usual_error_bodies(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=2)
    path = f"/api/rooms/{shop.room_id}/orders"
    token = shop.viewer()
    key = {"Idempotency-Key": "k1"}
    line = {"lines": [{"sku": mug["sku"], "qty": 1}]}
    http = live_server.http

    anonymous = await http.post(path, json=line, headers=key)
    assert anonymous.status_code == 401 and error_code(anonymous) == "unauthorized"
    basic = await http.post(path, json=line, headers={"Authorization": "Basic x", **key})
    assert basic.status_code == 401 and error_code(basic) == "unauthorized"
    no_key = await live_server.as_user(token, "POST", path, json=line)
    assert no_key.status_code == 400 and error_code(no_key) == "bad_request"
    for body in (b"", b"nope", b"[1]", b'{"lines": []}', b'{"lines": [{"qty": 1}]}'):
        answer = await live_server.as_user(token, "POST", path, content=body, headers=key)
        assert answer.status_code == 400 and error_code(answer) == "bad_request", body
    big = b'{"lines": [], "pad": "' + b"x" * 70_000 + b'"}'
    too_large = await live_server.as_user(token, "POST", path, content=big, headers=key)
    assert too_large.status_code == 413 and error_code(too_large) == "too_large"
    for other in ("/api/rooms/r_nope/orders", "/api/rooms/no%20pe/orders"):
        missing = await live_server.as_user(token, "POST", other, json=line, headers=key)
        assert missing.status_code == 404 and error_code(missing) == "not_found", other
    assert (await http.post("/api/rooms//orders", json=line)).status_code == 404
    # Nothing above took a unit.
    assert (await shop.product(mug["sku"]))["available"] == 2
    # The room's order list (GET on the same path) is not a checkout.
    listing = await live_server.as_user(shop.host_token, "GET", path)
    assert listing.status_code == 200 and listing.json()["orders"] == []


async def test_checkouts_are_logged_and_counted_under_their_route(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    shop = await open_shop_room(live_server)
    mug = await shop.add(stock=1)
    token = shop.viewer()
    line = [{"sku": mug["sku"], "qty": 1}]
    with caplog.at_level(logging.INFO, logger="live.access"):
        first = await shop.checkout(token, line, key="a")
        assert first.status_code == 201, first.text
        again = await shop.checkout(token, line, key="a")
        assert again.status_code == 200 and again.json()["order_id"] == first.json()["order_id"]
        assert (await shop.checkout(token, line, key="b")).status_code == 409
    lines = [r for r in caplog.records if r.name == "live.access"]
    path = f"/api/rooms/{shop.room_id}/orders"
    statuses = [(r.path, r.status) for r in lines]  # type: ignore[attr-defined]
    assert statuses == [(path, 201), (path, 200), (path, 409)]
    text = (await live_server.http.get("/metrics")).text
    for status in ("201", "200", "409"):
        labels = f'method="POST",route="checkout",status="{status}"'
        assert re.search(r"live_http_requests_total\{" + labels + r"\} [1-9]", text), status
