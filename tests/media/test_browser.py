"""Chromium publishes by WHIP and plays by WHEP (cross-origin, so CORS is exercised too)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from live.media.frames import is_keyframe
from tests.conftest import LiveServer
from tests.media.peers import SmallPicture, publish, watch

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


PUBLISH = """
async ([url, token]) => {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240},
                                                            audio: true});
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription();
  await new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
    setTimeout(done, 3000);
  });
  const answer = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
  if (answer.status !== 201) return {status: answer.status, text: await answer.text()};
  await pc.setRemoteDescription({type: 'answer', sdp: await answer.text()});
  window.publisher = pc;
  return {status: 201, location: answer.headers.get('Location')};
}
"""


async def launch(playwright_api: Any, *args: str) -> Any:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium installed (.ci/system-deps.sh chromium)")
    playwright = await playwright_api.async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=chromium,
        args=["--disable-features=WebRtcHideLocalIpsWithMdns", *args],
    )
    return playwright, browser


@pytest.mark.browser
async def test_chromium_publishes_by_whip(live_server: LiveServer) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    room = await live_server.new_room()
    room_id = room["room_id"]
    playwright, browser = await launch(
        playwright_api, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"
    )
    viewer = await watch(live_server.http, room_id, audio=True)
    try:
        page = await browser.new_page()
        await page.goto(f"{live_server.base_url}/healthz")  # a secure context (loopback)
        url = f"{live_server.base_url}/api/rooms/{room_id}/whip"
        result: dict[str, Any] = await page.evaluate(PUBLISH, [url, room["host_token"]])
        assert result["status"] == 201, result
        await viewer.wait_frames(30, within=30)
        assert is_keyframe("vp8", viewer.frames[0][1].data)
        assert (await live_server.http.get(f"/api/rooms/{room_id}")).json()["live"] is True
    finally:
        await viewer.close()
        await browser.close()
        await playwright.stop()


@pytest.mark.browser
async def test_chromium_decodes_the_forwarded_video(live_server: LiveServer) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    room = await live_server.new_room()
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], SmallPicture())
    playwright, browser = await launch(playwright_api)
    try:
        page = await browser.new_page()
        url = f"{live_server.base_url}/api/rooms/{room['room_id']}/whep"
        result: dict[str, Any] = await page.evaluate(PLAY, [url])
        assert result["status"] == 201, result
        assert result["decoded"] >= 15 and result["width"] == 160, result
        assert result["deleted"] == 200
    finally:
        await browser.close()
        await playwright.stop()
        await publisher.close()
