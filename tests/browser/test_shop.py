"""The shop in a browser: the pinned product's size, a bag of two products, one payment,
and the order in "My orders"."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PHONE, OpenPage, needs, screenshot
from tests.conftest import LiveServer
from tests.realtime.client import channel

pytestmark = pytest.mark.browser

SLOW = 30_000


@needs("channel")
async def test_pick_a_size_add_two_products_pay_once_see_my_order(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    shirt = await live_server.new_product(
        title="Linen shirt",
        price_cents=32900,
        variants=[
            {"variant_id": "s", "label": "S", "stock": 3},
            {"variant_id": "m", "label": "M", "stock": 2},
        ],
    )
    mug = await live_server.new_product(title="Mug", price_cents=8800, stock=4)
    token = room["host_token"]
    for product in (shirt, mug):
        path = f"/api/rooms/{room['room_id']}/products"
        answer = await live_server.as_user(token, "POST", path, json={"sku": product["sku"]})
        assert answer.status_code == 201, answer.text
    viewer = await open_page(room["viewer_url"], PHONE)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    async with channel(live_server.ws_url, room["room_id"], token) as host:
        await host.next()
        await host.send({"type": "pin", "sku": shirt["sku"]})
        # The pinned shirt's card offers its sizes: M into the bag.
        await expect(viewer.locator("#product-title")).to_have_text("Linen shirt")
        await viewer.locator("#product-variant").select_option("m")
        await viewer.get_by_role("button", name="Buy", exact=True).click()
    # The mug from the shop's line-up.
    mug_row = viewer.locator(f'#bag-lineup [data-sku="{mug["sku"]}"]')
    await expect(mug_row).to_contain_text("4 left")
    await mug_row.get_by_role("button", name="Add").click()
    await expect(viewer.locator("#bag-lines li")).to_have_count(2)
    await expect(viewer.locator("#bag-total")).to_contain_text("417")
    await viewer.get_by_role("button", name="Check out").click()
    name = viewer.get_by_label("Your name, to chat and buy")
    await expect(name).to_be_focused()
    await name.fill("Mei")
    await name.press("Enter")
    await expect(viewer.locator("#bag-note")).to_contain_text("Held for you")
    await viewer.get_by_role("button", name="Pay").click()
    await expect(viewer.locator("#bag-note")).to_contain_text("Paid")
    mine = viewer.locator("#my-orders .my-order")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("Paid")
    await expect(mine).to_contain_text("Linen shirt (M) × 1")
    await expect(mine).to_contain_text("Mug × 1")
    # Availability reaches the page as it changes.
    await expect(mug_row).to_contain_text("3 left", timeout=SLOW)
    await screenshot(viewer, "shop-bag-phone")
    answer = await live_server.http.get(f"/api/products/{shirt['sku']}")
    variants = {v["variant_id"]: v for v in answer.json()["variants"]}
    assert (variants["m"]["available"], variants["m"]["sold"]) == (1, 1)


@needs("channel")
async def test_the_host_restocks_a_size_in_the_studio(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    shirt = await live_server.new_product(
        title="Linen shirt",
        variants=[
            {"variant_id": "s", "label": "S", "stock": 3},
            {"variant_id": "m", "label": "M", "stock": 2},
        ],
    )
    path = f"/api/rooms/{room['room_id']}/products"
    answer = await live_server.as_user(room["host_token"], "POST", path, json={"sku": shirt["sku"]})
    assert answer.status_code == 201, answer.text
    studio = await open_page(room["host_url"])
    item = studio.locator(f'#lineup [data-sku="{shirt["sku"]}"]')
    await expect(item).to_contain_text("M: 2/2", timeout=SLOW)
    await studio.get_by_label("Variant to restock").select_option("m")
    await expect(studio.get_by_label("On hand")).to_have_value("2")
    await studio.get_by_label("On hand").fill("12")
    await studio.get_by_role("button", name="Set stock").click()
    await expect(studio.locator("#restock-note")).to_contain_text("Linen shirt (M): 12 on hand")
    await expect(item).to_contain_text("M: 12/12")
    await screenshot(studio, "studio-restock")
    product = (await live_server.http.get(f"/api/products/{shirt['sku']}")).json()
    assert [(v["stock"], v["available"]) for v in product["variants"]] == [(3, 3), (12, 12)]
