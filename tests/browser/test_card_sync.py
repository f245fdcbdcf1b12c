"""On a live viewer page in Chromium, a pinned product's card appears with the video frame
its pin belongs to: the frame on screen is mapped to the media clock with
`requestVideoFrameCallback`'s `rtpTimestamp` and the WHEP answer's offset. The video path
is made 300 ms longer than the websocket's (the receiver's `jitterBufferTarget`), so the
pin event arrives first and the page must hold the card."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from tests.browser.conftest import LAPTOP, needs
from tests.conftest import LiveServer
from tests.realtime.client import channel
from tests.replay.helpers import publish_real

pytestmark = pytest.mark.browser

# Before the page's scripts: every video receiver plays 300 ms behind.
SLOW_VIDEO = """
(() => {
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("track", (ev) => {
        if (ev.track.kind === "video") ev.receiver.jitterBufferTarget = 300;
      });
    }
  };
})();
"""

# The position of the frame on screen when the card first shows.
WATCH_CARD = """() => {
  window.cardShownAt = null;
  const card = document.getElementById("product");
  new MutationObserver(() => {
    if (!card.hidden && window.cardShownAt === null) window.cardShownAt = window.liveCardSync.shown;
  }).observe(card, { attributes: true });
}"""


@pytest.fixture
async def slow_video_page(browser: Browser) -> AsyncIterator[tuple[BrowserContext, list[str]]]:
    context = await browser.new_context(viewport=LAPTOP)  # type: ignore[arg-type]
    await context.add_init_script(SLOW_VIDEO)
    errors: list[str] = []
    context.on("weberror", lambda error: errors.append(str(error.error)))
    yield context, errors
    await context.close()
    assert not errors, errors


@needs("channel", "video")
async def test_a_pinned_card_waits_for_its_frame(
    live_server: LiveServer, slow_video_page: tuple[BrowserContext, list[str]]
) -> None:
    context, _ = slow_video_page
    room = await live_server.new_room("Card with its frame")
    room_id, token = room["room_id"], room["host_token"]
    product = await live_server.new_product(title="Linen shirt")
    await live_server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
    publisher = await publish_real(live_server.http, room_id, token)
    try:
        page: Page = await context.new_page()
        await page.goto(room["viewer_url"])
        # Playing, with the media clock known and frames mapped onto it.
        await page.wait_for_function(
            "() => window.liveCardSync.shown !== null"
            " && document.getElementById('video').currentTime > 1",
            timeout=30_000,
        )
        await page.evaluate(WATCH_CARD)
        async with channel(live_server.ws_url, room_id, token) as host:
            await host.of_type("snapshot")
            await host.send({"type": "pin", "sku": product["sku"]})
            pin = await host.of_type("pin")
        await page.wait_for_function("() => window.cardShownAt !== null", timeout=10_000)
        shown_at: float = await page.evaluate("window.cardShownAt")
        waited: float = await page.evaluate("window.liveCardSync.lastWaitMs")
        # No earlier than the frame the pin belongs to (a frame is 33 ms).
        assert shown_at >= pin["media_ms"] - 1, (shown_at, pin["media_ms"])
        assert shown_at < pin["media_ms"] + 200
        # The event had come first: the page held the card for the slower video.
        assert 150 < waited < 1000, waited
    finally:
        await publisher.close()
