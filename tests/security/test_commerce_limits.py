"""Finding 5 (buying): with `[commerce] anonymous_limit_by_ip`, new anonymous sessions from
one address cannot take more than one buyer's `per_buyer_limit`."""

from __future__ import annotations

import pytest

from live.settings import Settings
from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer, make_settings


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_COMMERCE_ANONYMOUS_LIMIT_BY_IP="true")


async def test_anonymous_sessions_of_one_address_share_the_per_buyer_limit(
    live_server: LiveServer,
) -> None:
    shop = await open_shop(live_server)
    sale = await shop.new_sale(per_buyer_limit=1)
    tokens = [(await live_server.new_viewer(f"b{i}"))["token"] for i in range(5)]
    answers = [await shop.buy(token, sale["sale_id"]) for token in tokens]
    assert [a.status_code for a in answers] == [201, 409, 409, 409, 409]
    assert {a.json()["error"]["code"] for a in answers[1:]} == {"limit_reached"}
    assert "limit_address" not in answers[0].json()
    # Cancelling frees the address's share again.
    order_id = answers[0].json()["order_id"]
    cancel = await live_server.as_user(tokens[0], "POST", f"/api/orders/{order_id}/cancel")
    assert cancel.status_code == 200, cancel.text
    assert (await shop.buy(tokens[1], sale["sale_id"])).status_code == 201
    assert (await shop.sale(sale["sale_id"]))["held"] == 1
