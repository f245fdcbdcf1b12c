"""The home page as discovery, in headless Chromium: what is on now (with its picture),
what starts soon (with its calendar file), recent shows, and the search box, from a
Chinese query to a product and from a moment to its replay at its time."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import expect

from live.discovery.moments import Chapter
from live.settings import Settings
from tests.browser.conftest import PHONE, OpenPage, horizontal_overflow, screenshot
from tests.conftest import LiveServer, make_settings
from tests.discovery.test_thumbnails import next_picture
from tests.media.peers import SmallPicture, publish

pytestmark = pytest.mark.browser


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_MEDIA_THUMBNAIL_S="0.5")


async def searchable(server: LiveServer, q: str, within_s: float = 5) -> None:
    """Wait until the index (fed from Redis's stream) answers `q`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (await server.http.get("/api/search", params={"q": q})).json()["results"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{q!r} not searchable within {within_s}s")


async def test_home_page_shows_what_is_on_and_finds_a_product_and_a_moment(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    product = await live_server.new_product(title="NAS 降噪机柜", description="静音 quiet rack")
    live_room = await live_server.new_room("Quiet racks, live")
    publisher = await publish(
        live_server.http, live_room["room_id"], live_room["host_token"], SmallPicture()
    )
    try:
        soon_at = int(time.time() * 1000) + 86_400_000
        soon = await live_server.admin(
            "POST",
            "/api/rooms",
            json={"title": "Felt pets, tomorrow", "host_name": "Lin", "starts_at": soon_at},
        )
        assert soon.status_code == 201
        past = await live_server.new_room("Felt workshop")
        ended = await live_server.as_user(
            past["host_token"], "POST", f"/api/rooms/{past['room_id']}/end"
        )
        assert ended.status_code == 200
        room = await live_server.parts.rooms.get(past["room_id"])
        chapter = Chapter(95_000, "pin", "Felt pet cushion", said=("Yes, it is washable",))
        await live_server.parts.moments.chapters(room, [chapter])
        await searchable(live_server, "降噪 机柜")
        await searchable(live_server, "washable cushion")
        await next_picture(live_server.http, live_room["room_id"], None)

        page = await open_page(live_server.base_url + "/", PHONE)
        on_now = page.locator(f'#rooms [data-room-id="{live_room["room_id"]}"]')
        await expect(on_now.get_by_text("Live", exact=True)).to_be_visible()
        await page.wait_for_function(
            "id => document.querySelector(`#rooms [data-room-id='${id}'] img`)?.naturalWidth > 0",
            arg=live_room["room_id"],
        )
        calendar = page.get_by_role("link", name="Add to calendar: Felt pets, tomorrow")
        await expect(calendar).to_have_attribute(
            "href", f"/api/rooms/{soon.json()['room_id']}/calendar.ics"
        )
        await expect(page.locator("#replays")).to_contain_text("Felt workshop")

        box = page.get_by_role("searchbox")
        await box.fill("降噪 机柜")
        await box.press("Enter")
        products = page.get_by_role("region", name="Products")
        await expect(products.get_by_role("link", name="NAS 降噪机柜")).to_have_attribute(
            "href", f"/api/products/{product['sku']}"
        )
        await expect(products.locator("mark").first).to_have_text("降噪")

        await box.fill("washable cushion")
        await box.press("Enter")
        moments = page.get_by_role("region", name="Moments in replays")
        await expect(moments).to_contain_text("Felt workshop at 1:35")
        assert await horizontal_overflow(page) == 0
        await screenshot(page, "discovery-phone")
        await moments.get_by_role("link", name="Felt pet cushion").click()
        await expect(page).to_have_url(f"{live_server.base_url}/r/{past['room_id']}?t=95")
        await expect(page.get_by_role("heading", name="Felt workshop")).to_be_visible()
    finally:
        await publisher.close()
