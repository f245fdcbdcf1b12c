"""WHIP/WHEP signalling: refusals, CORS, Link headers, the pages' config."""

from __future__ import annotations

import re

from aiortc import RTCConfiguration, RTCPeerConnection

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.unit.test_media_sdp import OFFER


async def offer_sdp(*kinds: str) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for kind in kinds:
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


SDP_HEADERS = {"Content-Type": "application/sdp"}


def ice_settings(turn_url: str, username: str, credential: str, **env: str) -> Settings:
    """Settings with one STUN and one TURN server (static TURN credentials), plus `env`."""
    return make_settings(
        LIVE_MEDIA_ICE_SERVERS=f"stun:stun.example.org:3478,{turn_url}",
        LIVE_MEDIA_TURN_USERNAME=username,
        LIVE_MEDIA_TURN_CREDENTIAL=credential,
        **env,
    )


async def test_garbage_and_foreign_codecs_are_refused(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    url = f"/api/rooms/{room['room_id']}/whep"
    for body in (b"hello", b'{"sdp": 1}', b"v=0\r\nm=video junk\r\n", b"\xff\xfe"):
        answer = await live_server.http.post(url, content=body, headers=SDP_HEADERS)
        assert answer.status_code == 400, body
        assert answer.json()["error"]["code"] == "bad_request"
        assert answer.headers["access-control-allow-origin"] == "*"
    vp9_only = (await offer_sdp("video")).replace("VP8/90000", "VP9/90000")
    vp9_only = vp9_only.replace("H264/90000", "H265/90000")
    answer = await live_server.http.post(url, content=vp9_only, headers=SDP_HEADERS)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unsupported_codec"
    no_ice = "\r\n".join(OFFER.splitlines()) + "\r\n"
    answer = await live_server.http.post(url, content=no_ice, headers=SDP_HEADERS)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
    answer = await live_server.http.post(url, content=b"v=0" + b" " * 70000, headers=SDP_HEADERS)
    assert answer.status_code == 413
    no_opus = (await offer_sdp("audio")).replace("opus/48000", "speex/48000")
    answer = await live_server.http.post(url, content=no_opus, headers=SDP_HEADERS)
    assert answer.json()["error"]["code"] == "unsupported_codec"


async def test_whip_needs_the_rooms_host(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    other = await live_server.new_room("Other room")
    viewer = await live_server.new_viewer()
    url = f"/api/rooms/{room['room_id']}/whip"
    sdp = await offer_sdp("video")
    assert (await live_server.http.post(url, content=sdp, headers=SDP_HEADERS)).status_code == 401
    for token in (viewer["token"], other["host_token"]):
        answer = await live_server.as_user(token, "POST", url, content=sdp, headers=SDP_HEADERS)
        assert answer.status_code == 403
    answer = await live_server.http.post("/api/rooms/nope/whep", content=sdp, headers=SDP_HEADERS)
    assert answer.status_code == 404


async def test_answer_headers_and_session_methods(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    viewer = await live_server.new_viewer()
    url = f"/api/rooms/{room['room_id']}/whep"
    answer = await live_server.as_user(
        viewer["token"], "POST", url, content=await offer_sdp("video", "audio"), headers=SDP_HEADERS
    )
    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("application/sdp")
    assert answer.text.startswith("v=0")
    assert "VP8/90000" in answer.text and "opus/48000" in answer.text
    location = answer.headers["location"]
    assert location.startswith(url + "/")
    assert 'live_media_sessions{role="viewer"}' in (await live_server.http.get("/metrics")).text
    assert answer.headers["access-control-expose-headers"] == "Location, Link, X-Live-Media-Clock"
    # The viewer's media clock: its video's RTP timestamps minus the offset, at 90 kHz.
    assert re.fullmatch(r"offset=\d+; rate=90000", answer.headers["x-live-media-clock"])
    patch = await live_server.http.patch(location, content=b"a=end-of-candidates")
    assert patch.status_code == 405
    assert patch.json()["error"]["code"] == "method_not_allowed"
    preflight = await live_server.http.options(
        url,
        headers={
            "Origin": "https://player.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert (await live_server.http.options(location)).status_code == 204
    assert (await live_server.http.delete(location)).status_code == 200


async def test_openapi_lists_whip_and_whep(live_server: LiveServer) -> None:
    spec = (await live_server.http.get("/openapi.json")).json()
    whip = spec["paths"]["/api/rooms/{room_id}/whip"]
    assert "application/sdp" in whip["post"]["requestBody"]["content"]
    assert set(spec["paths"]["/api/rooms/{room_id}/whep/{session_id}"]) == {
        "delete",
        "patch",
        "options",
    }
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
