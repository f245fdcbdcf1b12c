"""Capture Chromium's WHIP and WHEP offers into tests/media/offers/ (see SOURCES.md).

    .venv/bin/python -m tests.media.capture_offers

Headless Debian Chromium with a fake camera and microphone, on a page served as
http://localhost/ (a secure context, so getUserMedia works); each offer is taken once ICE
gathering is complete, as a WHIP client sends it."""

from __future__ import annotations

import asyncio

from playwright.async_api import Route, async_playwright

from tests.browser.conftest import CHROMIUM
from tests.media.real_offers import OFFERS_DIR

OFFER = """
async ([mode]) => {
  const pc = new RTCPeerConnection();
  if (mode === 'whip') {
    const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
    for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  } else {
    pc.addTransceiver('video', {direction: 'recvonly'});
    pc.addTransceiver('audio', {direction: 'recvonly'});
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
  });
  const sdp = pc.localDescription.sdp;
  pc.close();
  return [navigator.userAgent.match(/Chrome\\/(\\d+)/)[1], sdp];
}
"""
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


async def _blank(route: Route) -> None:
    await route.fulfill(body="<!doctype html><title>offer</title>", content_type="text/html")


async def capture() -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page()
        await page.route("http://localhost/**", _blank)
        await page.goto("http://localhost/")
        for mode in ("whip", "whep"):
            major, sdp = await page.evaluate(OFFER, [mode])
            path = OFFERS_DIR / f"chromium-{major}-{mode}.sdp"
            path.write_bytes(sdp.encode())
            print(path)
        await browser.close()


if __name__ == "__main__":
    asyncio.run(capture())
