"""WHIP and WHEP answer real offers (captured Chromium; published Firefox, Safari, OBS 30)
from a real server, with the room's codec and the direction each endpoint needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiortc.sdp import SessionDescription

from tests.conftest import ADMIN_TOKEN, make_settings, start_server
from tests.media.real_offers import OFFERS, RealOffer, for_this_machine
from tests.media.test_signalling import SDP_HEADERS
from tests.redis_server import TestRedis

# Every offer against servers preferring either codec: a room's codec follows its
# publisher, so an OBS (H.264-only) WHIP is answered by a server that prefers VP8 too.
CASES = [
    (offer, endpoint, codec)
    for offer in OFFERS
    for endpoint in sorted(offer.endpoints)
    for codec in ("vp8", "h264")
]
# What the server's answer says for each endpoint: it receives on WHIP, sends on WHEP.
ANSWER_DIRECTION = {"whip": "recvonly", "whep": "sendonly"}
RTPMAP = {"vp8": "VP8", "h264": "H264"}


@asynccontextmanager
async def server_for(redis_url: str, codec: str) -> AsyncIterator[httpx.AsyncClient]:
    server, task, port, _ = await start_server(make_settings(LIVE_MEDIA_CODEC=codec), redis_url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as http:
            yield http
    finally:
        server.should_exit = True
        await task


def _case_id(case: tuple[RealOffer, str, str]) -> str:
    offer, endpoint, codec = case
    return f"{offer.name}-{endpoint}-{codec}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_a_real_offer_is_answered(
    redis_server: TestRedis, case: tuple[RealOffer, str, str]
) -> None:
    offer, endpoint, codec = case
    async with server_for(redis_server.url, codec) as http:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        body = {"title": "Real offers", "host_name": "Lin"}
        created = await http.post("/api/rooms", json=body, headers=admin)
        room = created.json()
        headers = dict(SDP_HEADERS)
        if endpoint == "whip":
            headers["Authorization"] = f"Bearer {room['host_token']}"
        url = f"/api/rooms/{room['room_id']}/{endpoint}"
        answer = await http.post(url, content=for_this_machine(offer.text), headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.headers["location"]
        description = SessionDescription.parse(answer.text)
        kinds = {m.kind: m for m in description.media}
        assert set(kinds) == {"audio", "video"}
        for media in kinds.values():
            assert media.direction == ANSWER_DIRECTION[endpoint]
        video = {c.mimeType for c in kinds["video"].rtp.codecs} - {"video/rtx"}
        if endpoint == "whip":
            # The publisher's own first choice, whatever the server prefers.
            assert video == {f"video/{RTPMAP[offer.first]}"}
        else:
            # Every codec a room may carry that the viewer takes.
            assert video == {f"video/{RTPMAP[c]}" for c in offer.codecs}
        assert {c.mimeType.lower() for c in kinds["audio"].rtp.codecs} >= {"audio/opus"}
        assert (await http.delete(answer.headers["location"], headers=headers)).status_code < 300
