"""Every page at every size, in both languages: axe finds no serious or critical problem,
every control is reached by the keyboard, reduced motion is honoured; a screenshot of each
lands under test-output/browser/ to be looked at."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_violations
from tests.browser.conftest import (
    LANDSCAPE,
    LAPTOP,
    PORTRAIT,
    TOUCH,
    OpenPage,
    needs,
    screenshot,
)
from tests.browser.scenes import MUG, SHIRT, shop_room
from tests.conftest import LiveServer
from tests.realtime.client import channel

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs("channel", "sales")]

SLOW = 30_000
SIZES = {"portrait": PORTRAIT, "landscape": LANDSCAPE, "laptop": LAPTOP}


async def show_room(live_server: LiveServer) -> dict[str, Any]:
    """A room mid-show: a pinned shirt with sizes, a flash sale on the mug, some chat."""
    room = await shop_room(live_server, SHIRT, MUG)
    answer = await live_server.as_user(
        room["host_token"],
        "POST",
        f"/api/rooms/{room['room_id']}/sales",
        json={
            "sku": room["products"][1]["sku"],
            "stock": 5,
            "price_cents": 9900,
            "per_buyer_limit": 2,
            "hold_s": 300,
            "duration_s": 600,
        },
    )
    assert answer.status_code == 201, answer.text
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        await host.send({"type": "chat", "text": "Welcome, everyone"})
        await host.send({"type": "pin", "sku": room["products"][0]["sku"]})
        await host.of_type("pin")
    return room


async def ready(page: Page, name: str) -> None:
    """Wait until the page shows what it is for."""
    if name == "home":
        await expect(page.locator("#rooms li").first).to_be_visible()
    elif name == "viewer":
        await expect(page.locator("#product-title")).to_have_text(SHIRT["title"], timeout=SLOW)
        await expect(page.locator("#sales .sale")).to_be_attached()
    else:
        await page.wait_for_function("document.getElementById('preview').videoWidth > 0")
        await expect(page.locator("#lineup li")).to_have_count(2)
    await page.wait_for_function(
        "document.getAnimations().every((a) => a.playState !== 'running')", polling=50
    )


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("size_name", list(SIZES))
async def test_axe_finds_no_serious_problem_on_any_page(
    live_server: LiveServer, open_page: OpenPage, size_name: str, lang: str
) -> None:
    room = await show_room(live_server)
    size = SIZES[size_name]
    touch = TOUCH if size_name != "laptop" else {}
    urls = {"home": live_server.base_url + "/", "viewer": room["viewer_url"]}
    urls["studio"] = room["host_url"]
    problems = {}
    for name, url in urls.items():
        page = await open_page(url, size, locale=lang, **touch)
        await ready(page, name)
        await screenshot(page, f"a11y-{name}-{size_name}-{lang}")
        found = await axe_violations(page)
        if found:
            problems[name] = found
        if name == "viewer" and size_name != "laptop":
            # The sheets too: the full chat and the bag, opened as a phone user does.
            await page.locator("#chat-expand").tap()
            await ready(page, name)
            await screenshot(page, f"a11y-viewer-chat-{size_name}-{lang}")
            problems.update({"viewer chat": v for v in [await axe_violations(page)] if v})
            await page.keyboard.press("Escape")
            await page.locator("#bag-open").tap()
            await ready(page, name)
            await screenshot(page, f"a11y-viewer-bag-{size_name}-{lang}")
            problems.update({"viewer bag": v for v in [await axe_violations(page)] if v})
    assert problems == {}
