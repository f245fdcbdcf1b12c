"""Finding 8 and the header limit: page security headers, 431 for oversized heads,
/metrics for operators only, WHIP/WHEP want application/sdp and a DTLS fingerprint."""

from __future__ import annotations

import httpx
import pytest

from live.settings import Settings
from tests.conftest import ADMIN_TOKEN, LiveServer, make_settings, start_server
from tests.media.test_signalling import offer_sdp
from tests.redis_server import TestRedis


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_SERVER_EMBED_ORIGINS="https://shop.example.com")


async def test_pages_carry_csp_nosniff_referrer_policy_and_framing_rules(
    live_server: LiveServer,
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    for path in ("/", f"/r/{room_id}", f"/studio/{room_id}", "/static/js/viewer.js"):
        answer = await live_server.http.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "img-src 'self' https:" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"]
    studio = (await live_server.http.get(f"/studio/{room_id}")).headers
    assert "frame-ancestors 'none'" in studio["content-security-policy"]
    viewer = (await live_server.http.get(f"/r/{room_id}")).headers
    assert "frame-ancestors 'self' https://shop.example.com" in viewer["content-security-policy"]
    api = await live_server.http.get(f"/api/rooms/{room_id}")
    assert api.headers["x-content-type-options"] == "nosniff"


async def test_request_heads_over_the_limit_answer_431(live_server: LiveServer) -> None:
    room_id = (await live_server.new_room())["room_id"]
    padded = {"X-Forwarded-For": "1.2.3.4," * 2500}  # 20,000 bytes > 16,384
    answer = await live_server.http.get(f"/api/rooms/{room_id}", headers=padded)
    assert answer.status_code == 431
    assert answer.json()["error"]["code"] == "headers_too_large"
    offer = await offer_sdp("video")
    whep = await live_server.http.post(
        f"/api/rooms/{room_id}/whep",
        content=offer,
        headers={"Content-Type": "application/sdp", **padded},
    )
    assert whep.status_code == 431
    assert (await live_server.http.get(f"/api/rooms/{room_id}")).json()["live"] is False


async def test_metrics_need_a_metrics_network_or_the_admin_token(live_server: LiveServer) -> None:
    # Loopback is a metrics network by default; an address behind a proxy is not.
    assert (await live_server.http.get("/metrics")).status_code == 200


@pytest.mark.parametrize("with_admin", [False, True])
async def test_metrics_from_outside_are_refused_without_the_admin_token(
    redis_server: TestRedis, with_admin: bool
) -> None:
    settings = make_settings(LIVE_SERVER_METRICS_NETWORKS="10.9.9.0/24")
    server, task, port, _app = await start_server(settings, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if with_admin else {}
            answer = await http.get("/metrics", headers=headers)
            assert answer.status_code == (200 if with_admin else 401)
    finally:
        server.should_exit = True
        await task


async def test_whep_wants_application_sdp_and_a_dtls_fingerprint(live_server: LiveServer) -> None:
    room_id = (await live_server.new_room())["room_id"]
    url = f"/api/rooms/{room_id}/whep"
    offer = await offer_sdp("video")
    text = await live_server.http.post(url, content=offer, headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    assert text.json()["error"]["code"] == "unsupported_media_type"
    bare = "\r\n".join(
        line for line in offer.split("\r\n") if not line.startswith("a=fingerprint:")
    )
    answer = await live_server.http.post(
        url, content=bare, headers={"Content-Type": "application/sdp"}
    )
    assert answer.status_code == 400
    assert "fingerprint" in answer.json()["error"]["message"]
