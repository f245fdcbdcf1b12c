"""The waitlist and questions on the pages: a viewer joins a sold-out sale's line, gets the
unit that comes back and buys it; asks the host, who answers from the studio's queue, and
the answer shows on the product card."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, needs
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SLOW = 30_000


@needs("channel", "sales")
async def test_waitlist_offer_and_questions_on_the_pages(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Cabinet night")
    product = await live_server.new_product(title="Walnut cabinet")
    host = await open_page(room["host_url"])
    await expect(host.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await host.get_by_label("Add a product by SKU").fill(product["sku"])
    await host.get_by_role("button", name="Add", exact=True).click()
    await host.get_by_role("button", name="Pin Walnut cabinet").click()

    viewer = await open_page(room["viewer_url"])
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await viewer.get_by_label("Your name, to chat and buy").fill("Dev")
    await viewer.get_by_label("Your name, to chat and buy").press("Enter")
    await expect(viewer.locator("#me")).to_have_text("Dev")

    # A question about the pinned product reaches the studio's queue only.
    await viewer.get_by_label("Ask the host about it").fill("Can it be listed?")
    await viewer.get_by_role("button", name="Ask", exact=True).click()
    queue = host.locator("#questions")
    await expect(queue).to_contain_text("Can it be listed?")
    await expect(viewer.locator("#product")).not_to_contain_text("Q: Can it be listed?")
    await host.get_by_label("Answer Dev").fill("Yes, on any table.")
    await host.get_by_role("button", name="Answer", exact=True).click()
    await expect(viewer.locator("#product-answers")).to_contain_text("Yes, on any table.")
    await expect(queue).to_contain_text("No question waiting.")

    # One unit, taken by Ann through the API: the sale is sold out, Dev joins the line.
    sale = await live_server.as_user(
        room["host_token"],
        "POST",
        f"/api/rooms/{room['room_id']}/sales",
        json={
            "sku": product["sku"],
            "stock": 1,
            "price_cents": 5000,
            "per_buyer_limit": 1,
            "hold_s": 120,
            "duration_s": 300,
        },
    )
    sale_id = sale.json()["sale_id"]
    ann = await live_server.new_viewer("Ann")
    taken = await live_server.as_user(
        ann["token"],
        "POST",
        f"/api/sales/{sale_id}/orders",
        json={"qty": 1},
        headers={"Idempotency-Key": "ann"},
    )
    card = viewer.locator("#sales .sale")
    await expect(card).to_contain_text("Sold out")
    await card.get_by_role("button", name="Join the waitlist").click()
    await expect(card).to_contain_text("You are number 1 in line.")

    # Ann cancels: the unit is kept for Dev, who buys it.
    order_id = taken.json()["order_id"]
    await live_server.as_user(ann["token"], "POST", f"/api/orders/{order_id}/cancel")
    await expect(card).to_contain_text("One is kept for you")
    await card.get_by_role("button", name="Buy it now").click()
    await expect(viewer.locator("#orders .order")).to_contain_text(re.compile(r"Held for you"))
