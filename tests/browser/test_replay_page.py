"""The replay page in Chromium: an ended show plays from its recording, its chapters seek,
the card of the product pinned at the current position follows playback, `?t=` opens at
a moment, and the line-up is bought through the shop bag."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    PORTRAIT,
    TOUCH,
    OpenPage,
    horizontal_overflow,
    needs,
    screenshot,
)
from tests.browser.test_phone import box, inside
from tests.conftest import LiveServer
from tests.realtime.client import channel
from tests.replay.helpers import forwarded_frames, needs_ffprobe, publish_real, ready_replay, until

pytestmark = [pytest.mark.browser, needs_ffprobe]


async def frames_forwarded(count: int) -> None:
    start = forwarded_frames()
    await until(lambda: forwarded_frames() - start >= count, within=30)


async def recorded_show(server: LiveServer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An ended room whose replay pins a mug, then (3 s later) a scarf; (room, products)."""
    room = await server.new_room("Pottery and silk")
    room_id, token = room["room_id"], room["host_token"]
    products = [
        await server.new_product(title="Ceramic mug", price_cents=8800),
        await server.new_product(title="Silk scarf", price_cents=25900),
    ]
    for product in products:
        await server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
        await server.admin("PUT", f"/api/products/{product['sku']}/stock", json={"stock": 4})
    publisher = await publish_real(server.http, room_id, token)
    try:
        async with channel(server.ws_url, room_id, token) as host:
            await host.of_type("snapshot")
            for product in products:
                await frames_forwarded(45)
                await host.send({"type": "pin", "sku": product["sku"]})
                await host.of_type("pin")
            await frames_forwarded(45)
        assert (await server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await publisher.close()
    return room, products


async def position_s(page: Page) -> float:
    value: float = await page.evaluate("document.getElementById('video').currentTime")
    return value


@needs("channel", "video")
async def test_the_replay_seeks_to_a_chapter_and_shows_its_card(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room, products = await recorded_show(live_server)
    replay = await ready_replay(live_server, room["room_id"])
    pins = [c for c in replay["chapters"] if c["type"] == "pin"]
    assert [c["sku"] for c in pins] == [p["sku"] for p in products]

    page = await open_page(room["viewer_url"])
    chapters = page.locator("#chapter-list li")
    await expect(chapters).to_have_count(2)
    await expect(page.locator("#replay-marks .mark")).to_have_count(2)
    await page.wait_for_function("document.getElementById('video').duration > 3")

    # The scarf's chapter: the video seeks there and the scarf's card shows.
    await chapters.nth(1).get_by_role("button").click()
    assert abs(await position_s(page) - pins[1]["at_ms"] / 1000) < 0.5
    await expect(page.locator("#product-title")).to_have_text("Silk scarf")
    # Back to before it: the mug's card again.
    await page.evaluate(
        f"document.getElementById('video').currentTime = {pins[0]['at_ms'] / 1000 + 0.3}"
    )
    await expect(page.locator("#product-title")).to_have_text("Ceramic mug")
    await screenshot(page, "replay-chapter")

    # Bought from the replay through the bag.
    await page.get_by_role("button", name="Buy").click()
    await page.get_by_role("button", name="Check out").click()
    await page.locator("#name-input").fill("Mei")
    await page.get_by_role("button", name="Join").click()
    await expect(page.locator("#bag-note")).to_contain_text("Held for you")
    await page.get_by_role("button", name="Pay").click()
    await expect(page.locator("#bag-note")).to_contain_text("Paid")


@needs("channel", "video")
async def test_a_link_opens_the_replay_at_its_moment(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room, _ = await recorded_show(live_server)
    replay = await ready_replay(live_server, room["room_id"])
    scarf = [c for c in replay["chapters"] if c["type"] == "pin"][1]
    moment = scarf["at_ms"] / 1000 + 0.5
    page = await open_page(f"{room['viewer_url']}?t={moment:.1f}")
    await page.wait_for_function(f"document.getElementById('video').currentTime >= {moment - 0.2}")
    await expect(page.locator("#product-title")).to_have_text("Silk scarf")


@needs("channel", "video")
async def test_the_replay_on_a_phone_keeps_video_chapters_card_and_bag_apart(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    """In the phone-first layout the replay's video (with its controls), the chapter marks,
    the chapter list, the card and the bar stack without covering each other, in Chinese
    too, and a chapter tapped still seeks and changes the card."""
    room, products = await recorded_show(live_server)
    replay = await ready_replay(live_server, room["room_id"])
    pins = [c for c in replay["chapters"] if c["type"] == "pin"]
    page = await open_page(room["viewer_url"], PORTRAIT, locale="zh-CN", **TOUCH)
    await expect(page.locator("#chapter-list li")).to_have_count(2)
    await expect(page.locator("#chapters-heading")).to_have_text("章节")
    await expect(page.locator("#conn")).to_have_text("回放")
    await page.wait_for_function("document.getElementById('video').duration > 3")
    chapters = page.locator("#chapter-list li")
    await chapters.nth(0).get_by_role("button").tap()
    await expect(page.locator("#product-title")).to_have_text(products[0]["title"])
    stack = ["#video", "#replay-marks", "#chapters", "#product", ".room-actions"]
    boxes = [await box(page, selector) for selector in stack]
    for selector, found in zip(stack, boxes, strict=True):
        assert inside(found, PORTRAIT), (selector, found)
    for i in range(len(stack) - 1):
        above, below = boxes[i], boxes[i + 1]
        assert above["y"] + above["h"] <= below["y"] + 1, (stack[i], stack[i + 1], above, below)
    assert await page.locator("#chat-open").is_hidden()
    assert await page.locator("#bag-open").is_visible()
    assert await horizontal_overflow(page) == 0
    await screenshot(page, "replay-phone-portrait")

    await chapters.nth(1).get_by_role("button").tap()
    assert abs(await position_s(page) - pins[1]["at_ms"] / 1000) < 0.5
    await expect(page.locator("#product-title")).to_have_text(products[1]["title"])


@needs("channel", "video")
async def test_the_replay_page_runs_under_its_own_content_security_policy(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    """The replay page (its chapter marks on the timeline, its card, its bag) needs no
    inline script or style: under the page's real CSP nothing is refused while it plays
    and seeks."""
    room, products = await recorded_show(live_server)
    await ready_replay(live_server, room["room_id"])
    page = await open_page("about:blank", PORTRAIT, bypass_csp=False, **TOUCH)
    await page.add_init_script(
        "window.refused = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.refused.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    await page.goto(room["viewer_url"])
    await expect(page.locator("html.i18n-ready")).to_be_attached()
    await expect(page.locator("#chapter-list li")).to_have_count(2)
    await expect(page.locator("#replay-marks > *")).to_have_count(2)
    await page.locator("#chapter-list li").nth(1).get_by_role("button").tap()
    await expect(page.locator("#product-title")).to_have_text(products[1]["title"])
    assert await page.evaluate("window.refused") == []
    assert "content-security-policy" in (await page.request.get(room["viewer_url"])).headers
