"""Time-limited TURN credentials (TURN REST scheme) when `turn_secret` is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from live.media.signalling import turn_rest_credentials
from live.settings import Settings
from tests.conftest import LiveServer
from tests.media.test_signalling import SDP_HEADERS, ice_settings, offer_sdp

SECRET = "coturn-static-auth-secret"


@pytest.fixture
async def settings() -> Settings:
    return ice_settings(
        "turn:turn.example.org:3478",
        "ignored",
        "ignored",
        LIVE_MEDIA_TURN_SECRET=SECRET,
        LIVE_MEDIA_TURN_TTL_S="600",
    )


def turn_server_accepts(username: str, credential: str, now: float) -> bool:
    """What coturn's use-auth-secret checks: the HMAC, and an expiry still ahead."""
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()
    return credential == expected and int(username.split(":", 1)[0]) > now


def test_credentials_follow_the_turn_rest_scheme() -> None:
    username, credential = turn_rest_credentials("secret", "room1", 1_700_000_000.7, 3600)
    assert username == "1700003600:room1"
    assert credential == "inrlpgsD8KViPIm6+byqgDbNqdk="


async def test_config_and_answers_carry_fresh_time_limited_credentials(
    live_server: LiveServer,
) -> None:
    now = time.time()
    config = (await live_server.http.get("/api/media/config")).json()
    stun, turn = config["ice_servers"]
    assert "username" not in stun
    assert turn["username"] != "ignored" and turn["username"].endswith(":live")
    assert turn_server_accepts(turn["username"], turn["credential"], now)
    assert not turn_server_accepts(turn["username"], turn["credential"], now + 700)
    room = await live_server.new_room()
    url = f"/api/rooms/{room['room_id']}/whep"
    answer = await live_server.http.post(url, content=await offer_sdp("video"), headers=SDP_HEADERS)
    assert answer.status_code == 201
    link = answer.headers.get_list("link")[1]
    username = link.split('username="')[1].split('"')[0]
    credential = link.split('credential="')[1].split('"')[0]
    assert username.endswith(":" + room["room_id"])
    assert turn_server_accepts(username, credential, now)
