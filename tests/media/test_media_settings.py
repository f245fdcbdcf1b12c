"""Media settings: the room codec, ICE servers (Link headers, page config), public address."""

from __future__ import annotations

import pytest

from live.settings import Settings
from tests.conftest import LiveServer
from tests.media.peers import CounterTrack, counter_of, publish, synthetic_h264, watch
from tests.media.test_signalling import SDP_HEADERS, ice_settings, offer_sdp


@pytest.fixture
async def settings() -> Settings:
    return ice_settings(
        "turn:turn.example.org:3478?transport=udp",
        "live",
        "s3cret",
        LIVE_MEDIA_CODEC="h264",
        LIVE_MEDIA_PUBLIC_IP="203.0.113.7",
    )


async def test_codec_ice_servers_and_public_address_from_settings(live_server: LiveServer) -> None:
    config = (await live_server.http.get("/api/media/config")).json()
    assert config["codec"] == "h264"
    assert config["ice_servers"] == [
        {"urls": ["stun:stun.example.org:3478"]},
        {
            "urls": ["turn:turn.example.org:3478?transport=udp"],
            "username": "live",
            "credential": "s3cret",
        },
    ]
    room = await live_server.new_room()
    url = f"/api/rooms/{room['room_id']}/whep"
    answer = await live_server.http.post(url, content=await offer_sdp("video"), headers=SDP_HEADERS)
    assert answer.status_code == 201
    # Both codecs a room may carry: the room's is its publisher's.
    assert "H264/90000" in answer.text and "VP8/90000" in answer.text
    assert "x-live-media-worker" not in answer.headers  # no process ids unless asked
    candidates = [line for line in answer.text.splitlines() if line.startswith("a=candidate")]
    assert candidates and all(" 203.0.113.7 " in line for line in candidates)
    assert answer.headers.get_list("link") == [
        '<stun:stun.example.org:3478>; rel="ice-server"',
        '<turn:turn.example.org:3478?transport=udp>; rel="ice-server"; username="live"; '
        'credential="s3cret"; credential-type="password"',
    ]
    vp8_only = (await offer_sdp("video")).replace("H264/90000", "XXXX/90000")
    answer = await live_server.http.post(url, content=vp8_only, headers=SDP_HEADERS)
    assert answer.status_code == 201 and "H264/90000" not in answer.text
    neither = vp8_only.replace("VP8/90000", "VP9/90000")
    answer = await live_server.http.post(url, content=neither, headers=SDP_HEADERS)
    assert answer.json()["error"]["code"] == "unsupported_codec"


async def test_h264_is_forwarded_untouched(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    track = CounterTrack(codec="h264")
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], track)
    viewer = await watch(live_server.http, room["room_id"], codec="h264")
    try:
        await viewer.wait_frames(20)
        first = viewer.frames[0][1].data
        assert first[4] & 0x1F == 5, "a viewer starts on an IDR frame"
        counters = viewer.counters
        assert counters == list(range(counters[0], counters[0] + len(counters)))
        for _, frame in viewer.frames[1:]:
            keyframe = frame.data[4] == 0x65
            assert frame.data == synthetic_h264(counter_of(frame.data), keyframe)
    finally:
        await viewer.close()
        await publisher.close()
