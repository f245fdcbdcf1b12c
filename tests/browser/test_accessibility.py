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


# Each size once at least, each language at the phone's size (the layout is the same in
# both languages; the words and their lengths are not).
SIZES_AND_LANGUAGES = [("portrait", "en"), ("portrait", "zh-CN"), ("landscape", "en")]
SIZES_AND_LANGUAGES += [("laptop", "zh-CN")]


@pytest.mark.parametrize(("size_name", "lang"), SIZES_AND_LANGUAGES)
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
            if found := await axe_violations(page):
                problems["viewer chat"] = found
            await page.keyboard.press("Escape")
            await page.locator("#bag-open").tap()
            await ready(page, name)
            await screenshot(page, f"a11y-viewer-bag-{size_name}-{lang}")
            if found := await axe_violations(page):
                problems["viewer bag"] = found
    assert problems == {}


# Every control a reader can see and use, and the ones Tab reaches, as "tag#id:text".
CONTROLS = """() => {
  const name = (el) =>
    `${el.tagName.toLowerCase()}#${el.id}:${(el.textContent || "").trim().slice(0, 30)}`;
  const all = "a[href], button, input, select, textarea, [tabindex]";
  const seen = [...document.querySelectorAll(all)]
    .filter((el) => el.tabIndex >= 0 && !el.disabled)
    .filter((el) => el.checkVisibility({ visibilityProperty: true }))
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 1 && r.height > 1; });
  return seen.map(name);
}"""
FOCUSED = """() => { const el = document.activeElement;
  return `${el.tagName.toLowerCase()}#${el.id}:${(el.textContent || "").trim().slice(0, 30)}`; }"""


async def tab_reaches(page: Page) -> set[str]:
    reached: list[str] = []
    for _ in range(150):
        await page.keyboard.press("Tab")
        here: str = await page.evaluate(FOCUSED)
        if reached and here == reached[0]:
            break
        reached.append(here)
    return set(reached)


@pytest.mark.parametrize("size_name", ["portrait", "laptop"])
async def test_every_control_is_reached_by_the_keyboard(
    live_server: LiveServer, open_page: OpenPage, size_name: str
) -> None:
    room = await show_room(live_server)
    for name, url in (("viewer", room["viewer_url"]), ("studio", room["host_url"])):
        page = await open_page(url, SIZES[size_name])
        await ready(page, name)
        controls = set(await page.evaluate(CONTROLS))
        assert controls, name
        missing = controls - await tab_reaches(page)
        assert not missing, (name, sorted(missing))
    # On the phone the full chat opens from the keyboard, and Escape closes it.
    page = await open_page(room["viewer_url"], PORTRAIT)
    await ready(page, "viewer")
    await page.locator("#chat-open").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Your name, to chat and buy")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.locator("#chat-open")).to_be_focused()


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
async def test_reduced_motion_turns_the_animations_off(
    live_server: LiveServer, open_page: OpenPage, motion: str
) -> None:
    room = await show_room(live_server)
    page = await open_page(room["viewer_url"], PORTRAIT, reduced_motion=motion, **TOUCH)
    await ready(page, "viewer")
    await page.locator("#chat-expand").tap()
    seconds = await page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('chat-card')).animationDuration)"
    )
    if motion == "reduce":
        assert seconds <= 0.001, seconds
    else:
        assert seconds >= 0.1, seconds  # the sheet slides up
