"""A real browser plays a room's video by WHEP (cross-origin, so CORS is exercised too)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.media.peers import SmallPicture, publish

PLAY = """
async ([url]) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', {direction: 'recvonly'});
  pc.addTransceiver('audio', {direction: 'recvonly'});
  await pc.setLocalDescription();
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
    setTimeout(done, 3000);
  });
  const answer = await fetch(url, {
    method: 'POST', headers: {'Content-Type': 'application/sdp'}, body: pc.localDescription.sdp,
  });
  if (answer.status !== 201) return {status: answer.status, text: await answer.text()};
  const location = answer.headers.get('Location');
  await pc.setRemoteDescription({type: 'answer', sdp: await answer.text()});
  for (let i = 0; i < 150; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded >= 15) {
        const status = (await fetch(new URL(location, url), {method: 'DELETE'})).status;
        pc.close();
        return {status: 201, location, decoded: s.framesDecoded, width: s.frameWidth,
                deleted: status};
      }
    }
  }
  return {status: 201, location, decoded: 0, state: pc.connectionState};
}
"""


@pytest.mark.browser
async def test_chromium_decodes_the_forwarded_video(live_server: LiveServer) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium installed (.ci/system-deps.sh chromium)")
    room = await live_server.new_room()
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], SmallPicture())
    try:
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=chromium,
                args=["--disable-features=WebRtcHideLocalIpsWithMdns"],
            )
            try:
                page = await browser.new_page()
                url = f"{live_server.base_url}/api/rooms/{room['room_id']}/whep"
                result: dict[str, Any] = await page.evaluate(PLAY, [url])
            finally:
                await browser.close()
        assert result["status"] == 201, result
        assert result["decoded"] >= 15 and result["width"] == 160, result
        assert result["deleted"] == 200
    finally:
        await publisher.close()
