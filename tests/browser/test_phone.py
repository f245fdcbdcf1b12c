"""The viewer page on a phone: the video fills the screen and the room floats over it (the
last chat lines, the pinned card with its buy and sizes, likes, the bag); a tap opens the
full chat; a new pin moves nothing. On a laptop, the calm two-column page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    LANDSCAPE,
    LAPTOP,
    PORTRAIT,
    TOUCH,
    OpenPage,
    horizontal_overflow,
    needs,
    screenshot,
)
from tests.browser.scenes import MUG, SCARF, SHIRT, shop_room
from tests.conftest import LiveServer
from tests.realtime.client import channel

pytestmark = [pytest.mark.browser, needs("channel")]

SLOW = 30_000

BOX = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  return {x: r.x, y: r.y, w: r.width, h: r.height}; }"""

# Every layout shift from now on (none of them after an input: the host pins elsewhere).
WATCH_SHIFTS = """() => {
  window.shifts = [];
  const keep = (entries) => {
    for (const e of entries) if (!e.hadRecentInput) window.shifts.push(e.value);
  };
  window.shiftWatch = new PerformanceObserver((list) => keep(list.getEntries()));
  window.shiftWatch.observe({ type: "layout-shift" });
  window.shiftsSoFar = async () => {
    // Two frames drawn since the last change, then whatever is still queued.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    keep(window.shiftWatch.takeRecords());
    return window.shifts;
  };
}"""


async def box(page: Page, selector: str) -> dict[str, float]:
    found: dict[str, float] = await page.evaluate(BOX, selector)
    return found


def inside(inner: dict[str, float], size: dict[str, int]) -> bool:
    return (
        inner["x"] >= 0
        and inner["y"] >= 0
        and inner["x"] + inner["w"] <= size["width"] + 0.5
        and inner["y"] + inner["h"] <= size["height"] + 0.5
    )


async def on_top(page: Page, selector: str, within: str = "") -> bool:
    """True when a tap at the middle of `selector` lands on it, or on `within` (the card
    that holds it): nothing else covers it."""
    hit: bool = await page.evaluate(
        """([sel, within]) => {
          const el = document.querySelector(sel); const r = el.getBoundingClientRect();
          const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
          const mine = within ? document.querySelector(within) : el;
          return el === top || el.contains(top) || mine.contains(top); }""",
        [selector, within],
    )
    return hit


async def settled(page: Page) -> None:
    """Wait until no animation runs (a sheet sliding up), so boxes are where they stay."""
    await page.wait_for_function(
        "document.getAnimations().every((a) => a.playState !== 'running')", polling=50
    )


async def pinned_room(live_server: LiveServer) -> dict[str, Any]:
    return await shop_room(live_server, SHIRT, MUG, SCARF)


async def test_a_portrait_phone_is_all_video_with_the_room_floating_over_it(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await pinned_room(live_server)
    shirt = room["products"][0]
    viewer = await open_page(room["viewer_url"], PORTRAIT, **TOUCH)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        for text in ("Hello from the studio", "The oat one is back", "Sizes S and M today"):
            await host.send({"type": "chat", "text": text})
        await host.send({"type": "pin", "sku": shirt["sku"]})
        card = viewer.locator("#product")
        await expect(card.locator("#product-title")).to_have_text(SHIRT["title"])
        await expect(viewer.locator("#chat")).to_contain_text("Sizes S and M today")

    # The video covers the whole screen; nothing scrolls.
    video = await box(viewer, "#video")
    assert video["w"] * video["h"] >= 0.85 * PORTRAIT["width"] * PORTRAIT["height"], video
    fit = await viewer.evaluate("getComputedStyle(document.getElementById('video')).objectFit")
    assert fit == "cover"
    assert await viewer.evaluate("document.scrollingElement.scrollHeight") <= PORTRAIT["height"]
    assert await horizontal_overflow(viewer) == 0

    # The card, its sizes and its buy button are on screen, over the video, untouched by
    # anything else; so are the last chat lines, the likes and the bag.
    for selector in ("#product", "#product-buy", "#product-variant", "#like", "#bag-open"):
        assert inside(await box(viewer, selector), PORTRAIT), selector
        assert await on_top(viewer, selector), f"{selector} is covered"
    chat = await box(viewer, "#chat")
    assert inside(chat, PORTRAIT) and chat["y"] > video["y"] + video["h"] / 3, chat
    last_line = viewer.locator("#chat .chat-line").last
    await expect(last_line).to_be_visible()
    # (A tap on the lines opens the full chat: the button over them is the chat's own.)
    assert await on_top(viewer, "#chat .chat-line:last-child", "#chat-card"), "chat under video"
    await screenshot(viewer, "phone-viewer-portrait")

    # Likes float up from the same bar.
    await viewer.locator("#like").tap()
    await expect(viewer.locator("#likes")).to_have_text("1")

    # Tapping the chat opens the whole chat, with the name field ready.
    await viewer.locator("#chat-expand").tap()
    await expect(viewer.locator("#viewer")).to_have_class("viewer has-sheet is-open-chat")
    name = viewer.get_by_label("Your name, to chat and buy")
    await expect(name).to_be_focused()
    await settled(viewer)
    assert inside(await box(viewer, "#name-input"), PORTRAIT)
    await name.fill("Mei")
    await name.press("Enter")
    message = viewer.get_by_label("Message", exact=True)
    await expect(message).to_be_focused()
    assert inside(await box(viewer, "#chat-input"), PORTRAIT)
    # The on-screen keyboard takes the lower part of the window: the field stays above it.
    keyboard_up = {"width": PORTRAIT["width"], "height": PORTRAIT["height"] - 330}
    await viewer.set_viewport_size(keyboard_up)  # type: ignore[arg-type]
    await viewer.wait_for_function(
        f"getComputedStyle(document.documentElement)"
        f".getPropertyValue('--vvh') === '{keyboard_up['height']}px'"
    )
    assert inside(await box(viewer, "#chat-input"), keyboard_up)
    assert inside(await box(viewer, "#chat-card .sheet-close"), keyboard_up)
    await expect(message).to_be_focused()
    await viewer.set_viewport_size(PORTRAIT)  # type: ignore[arg-type]
    await message.fill("Is M true to size?")
    await message.press("Enter")
    await expect(viewer.locator("#chat")).to_contain_text("Is M true to size?")
    await screenshot(viewer, "phone-viewer-full-chat")
    await viewer.locator("#chat-card").get_by_role("button", name="Close").tap()
    await expect(viewer.locator("#viewer")).to_have_class("viewer")

    # Buy from the card: size M into the bag, which opens over the video; check out, pay.
    await viewer.locator("#product-variant").select_option("m")
    await viewer.locator("#product-buy").tap()
    await expect(viewer.locator("#viewer")).to_have_class("viewer has-sheet is-open-bag")
    await expect(viewer.locator("#bag-count")).to_have_text("1")
    await expect(viewer.locator("#bag-lines")).to_contain_text(f"{SHIRT['title']} (M) × 1")
    await viewer.get_by_role("button", name="Check out").tap()
    await expect(viewer.locator("#bag-note")).to_contain_text("Held for you")
    await screenshot(viewer, "phone-viewer-bag")
    await viewer.get_by_role("button", name="Pay", exact=True).tap()
    await expect(viewer.locator("#my-orders")).to_contain_text("Paid")


async def test_a_new_pin_moves_nothing_on_the_phone(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await pinned_room(live_server)
    viewer = await open_page(room["viewer_url"], PORTRAIT, **TOUCH)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        await host.send({"type": "chat", "text": "Three things tonight"})
        await expect(viewer.locator("#chat")).to_contain_text("Three things tonight")
        await viewer.evaluate(WATCH_SHIFTS)
        # Nothing pinned, then each product (long titles, sizes or none, pictures), then none.
        for product, fields in zip(room["products"], (SHIRT, MUG, SCARF), strict=True):
            await host.send({"type": "pin", "sku": product["sku"]})
            await expect(viewer.locator("#product-title")).to_have_text(fields["title"])
            await viewer.wait_for_function(
                "document.getElementById('product-image').complete", polling=100
            )
        await host.send({"type": "chat", "text": "Last call"})
        await host.send({"type": "unpin"})
        await expect(viewer.locator("#product")).to_be_hidden()
    shifts: list[float] = await viewer.evaluate("window.shiftsSoFar()")
    assert sum(shifts) < 0.005, shifts


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
async def test_the_card_and_buy_are_on_screen_whichever_way_the_phone_is_held(
    live_server: LiveServer, open_page: OpenPage, size: dict[str, int]
) -> None:
    room = await pinned_room(live_server)
    viewer = await open_page(room["viewer_url"], size, **TOUCH)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        await host.send({"type": "chat", "text": "Welcome in"})
        await host.send({"type": "pin", "sku": room["products"][0]["sku"]})
        await expect(viewer.locator("#product-title")).to_have_text(SHIRT["title"])
    video = await box(viewer, "#video")
    assert video["w"] * video["h"] >= 0.85 * size["width"] * size["height"], video
    for selector in ("#product-buy", "#chat-open", "#like", "#bag-open", "#chat .chat-line"):
        assert inside(await box(viewer, selector), size), selector
        assert await on_top(viewer, selector, "#chat-card"), f"{selector} is covered"
    assert await horizontal_overflow(viewer) == 0
    await screenshot(viewer, f"phone-viewer-{'portrait' if size == PORTRAIT else 'landscape'}-pin")


async def test_a_laptop_keeps_the_calm_two_column_page(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await pinned_room(live_server)
    viewer = await open_page(room["viewer_url"], LAPTOP)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        await host.send({"type": "pin", "sku": room["products"][0]["sku"]})
        await expect(viewer.locator("#product-title")).to_have_text(SHIRT["title"])
    video = await box(viewer, "#video")
    card = await box(viewer, "#product")
    chat = await box(viewer, "#chat")
    # The video on the left, not filling the window; the card and the chat beside it.
    assert video["w"] < LAPTOP["width"] * 0.75 and video["w"] * video["h"] < 0.6 * 1280 * 800
    assert card["x"] >= video["x"] + video["w"] and chat["x"] >= video["x"] + video["w"]
    # Everything in view at once: no sheets, no phone buttons.
    for selector in ("#chat-open", "#bag-open", "#chat-expand"):
        await expect(viewer.locator(selector)).to_be_hidden()
    await expect(viewer.locator("#bag")).to_be_visible()
    await expect(viewer.get_by_label("Your name, to chat and buy")).to_be_visible()
    await expect(viewer.locator("#product-description")).to_be_visible()
    assert await horizontal_overflow(viewer) == 0
    await screenshot(viewer, "laptop-viewer-pin")


async def test_the_pages_run_under_their_own_content_security_policy(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    """No inline script or style anywhere (the CSP allows neither): nothing is refused."""
    room = await pinned_room(live_server)
    record = (
        "window.refused = []; document.addEventListener('securitypolicyviolation',"
        " (e) => window.refused.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    for url in (live_server.base_url + "/", room["viewer_url"], room["host_url"]):
        page = await open_page("about:blank", PORTRAIT, bypass_csp=False, **TOUCH)
        await page.add_init_script(record)
        await page.goto(url)
        await expect(page.locator("html.i18n-ready")).to_be_attached()
        await page.locator("#lang-switch").focus()
        assert await page.evaluate("window.refused") == [], url
        assert "content-security-policy" in (await page.request.get(url)).headers
