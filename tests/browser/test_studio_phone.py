"""A host sells from a phone's browser: portrait capture at 720×1280, front and back
cameras, big pin buttons, the live figures over the preview, chat and questions one tap
away, and a warning when the page goes to the background (the camera stops there)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PORTRAIT, TOUCH, OpenPage, needs, screenshot
from tests.browser.scenes import MUG, SHIRT, shop_room
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs("channel", "video")]

SLOW = 30_000

# What a phone does when the host switches apps: the page is hidden, then shown again.
TO_BACKGROUND = """(state) => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => state === "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def preview_size(page: Page) -> list[int]:
    size: list[int] = await page.evaluate(
        "(() => { const v = document.getElementById('preview');"
        " return [v.videoWidth, v.videoHeight]; })()"
    )
    return size


async def test_a_host_goes_live_from_a_phone_in_portrait(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await shop_room(live_server, SHIRT, MUG)
    host = await open_page(room["host_url"], PORTRAIT, **TOUCH)
    await host.wait_for_function("document.getElementById('preview').videoWidth > 0")
    assert await preview_size(host) == [720, 1280]

    # The line-up's pin buttons are big enough for a thumb.
    pin = host.get_by_role("button", name=f"Pin {SHIRT['title']}")
    box = await pin.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 88, box

    go_live = host.get_by_role("button", name="Go live")
    await expect(go_live).to_be_enabled(timeout=SLOW)
    await go_live.tap()
    await expect(host.locator("#live-status")).to_contain_text("You are live", timeout=SLOW)
    viewer = await open_page(room["viewer_url"], PORTRAIT, **TOUCH)
    await viewer.wait_for_function(
        "(() => { const v = document.getElementById('video');"
        " return v.videoWidth > 0 && v.currentTime > 0; })()",
        timeout=SLOW,
    )
    # The picture arrives upright, and fills the viewer's phone.
    width, height = await viewer.evaluate(
        "(() => { const v = document.getElementById('video');"
        " return [v.videoWidth, v.videoHeight]; })()"
    )
    assert height > width, (width, height)

    await pin.tap()
    await expect(viewer.locator("#product-title")).to_have_text(SHIRT["title"])
    await expect(host.get_by_role("button", name=f"Unpin {SHIRT['title']}")).to_be_visible()

    # The figures at a glance, over the preview.
    await expect(host.locator("#hud-viewers")).to_have_text("1", timeout=SLOW)
    hud = await host.locator(".hud").bounding_box()
    preview = await host.locator("#preview").bounding_box()
    assert hud and preview and hud["y"] >= preview["y"] and hud["y"] < preview["y"] + 80
    await screenshot(host, "phone-studio-live")

    # Chat and questions are one tap away.
    await host.get_by_role("link", name="Chat").tap()
    await expect(host.get_by_label("Message to viewers")).to_be_in_viewport()
    await host.get_by_role("link", name="Questions").tap()
    await expect(host.locator("#questions-card")).to_be_in_viewport()

    # Front to back camera while live: the viewer's picture goes on.
    await host.get_by_role("button", name="Switch camera").tap()
    await expect(host.locator("#live-status")).to_have_text("Back camera.")
    facing = await host.evaluate(
        "document.getElementById('preview').srcObject.getVideoTracks()[0]"
        ".getConstraints().facingMode"
    )
    assert facing in ("environment", {"ideal": "environment"}), facing
    await expect(host.locator("#live-badge")).to_have_text("Live")
    start = await viewer.evaluate("document.getElementById('video').currentTime")
    await viewer.wait_for_function(
        f"document.getElementById('video').currentTime > {start} + 1", timeout=SLOW
    )

    # To the background and back: the host is told what viewers saw.
    warning = host.locator("#background-warning")
    await expect(warning).to_be_hidden()
    await host.evaluate(TO_BACKGROUND, "hidden")
    await expect(warning).to_contain_text("the camera stops there")
    await host.evaluate(TO_BACKGROUND, "visible")
    await expect(warning).to_contain_text("It is back on.")
    await screenshot(host, "phone-studio-back")
