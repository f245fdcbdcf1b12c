"""Auctions, waitlists and questions in Chromium: a host opens an auction in the studio, a
viewer bids, is outbid by another's max bid, sees the countdown extend, wins and pays."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage, needs, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SLOW = 30_000


@needs("channel")
async def test_a_viewer_bids_is_outbid_sees_time_added_wins_and_pays(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Cabinet night")
    product = await live_server.new_product(title="Walnut cabinet", price_cents=90000)
    host = await open_page(room["host_url"])
    await expect(host.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await host.get_by_label("Add a product by SKU").fill(product["sku"])
    await host.get_by_role("button", name="Add", exact=True).click()
    await expect(host.locator("#lineup")).to_contain_text("Walnut cabinet")

    viewer = await open_page(room["viewer_url"])
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await viewer.get_by_label("Your name, to chat and buy").fill("Mei")
    await viewer.get_by_label("Your name, to chat and buy").press("Enter")
    await expect(viewer.locator("#me")).to_have_text("Mei")

    await host.get_by_label("Starting bid").fill("10")
    await host.get_by_label("Runs for (seconds)").fill("12")
    await host.get_by_label("Time added by a late bid (s)").fill("5")
    await host.get_by_role("button", name="Open the auction").click()
    card = viewer.locator("#auctions .auction")
    await expect(card).to_contain_text("Walnut cabinet")
    await expect(card.locator("[data-role=countdown]")).to_have_text(re.compile(r"Ends in 0:\d\d"))
    auction_id = await card.get_attribute("data-auction-id")

    # Ann bids by proxy up to $30 through the API; Mei's $12 is answered at once at $14.
    ann = await live_server.new_viewer("Ann")
    placed = await live_server.as_user(
        ann["token"],
        "POST",
        f"/api/auctions/{auction_id}/bids",
        json={"amount_cents": 1000, "max_cents": 3000},
        headers={"Idempotency-Key": "ann-1"},
    )
    assert placed.status_code == 201, placed.text
    bid = card.locator("[data-role=bid]")
    await expect(bid).to_have_text(re.compile(r"Bid .*12\.00"))
    await bid.click()
    await expect(card.locator("[data-role=note]")).to_contain_text("Outbid")
    await expect(card.locator("[data-role=leader]")).to_have_text("Leading: Ann")
    await expect(card.locator("[data-role=price]")).to_contain_text("14.00")
    await expect(host.locator("#host-auctions")).to_contain_text("Ann leads")

    # In the last seconds Mei sets a max bid of $50: she leads at $32, and time is added.
    countdown = card.locator("[data-role=countdown]")
    await expect(countdown).to_have_text(re.compile(r"Ends in 0:0[0-2]"), timeout=SLOW)
    await card.locator("[data-role=max]").fill("50")
    await card.locator("[data-role=max-bid]").click()
    await expect(card.locator("[data-role=leader]")).to_have_text("Leading: you")
    await expect(card.locator("[data-role=price]")).to_contain_text("32.00")
    await expect(countdown).to_have_text(re.compile(r"Ends in 0:0[45]"))
    await screenshot(viewer, "auction-viewer-leading")

    # The auction ends; Mei won and pays the held order at the final price.
    await expect(card.locator("[data-role=leader]")).to_have_text("Won by you", timeout=SLOW)
    order = viewer.locator("#orders .order")
    await expect(order).to_contain_text("32.00", timeout=SLOW)
    await order.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(order).to_contain_text("Paid")
    await expect(host.locator("#host-auctions")).to_contain_text("won by Mei")
    await screenshot(host, "auction-studio-ended")
