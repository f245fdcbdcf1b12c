"""Media sessions that never connect are removed after `media.connect_timeout_s`."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.media.test_relay import eventually, hub_of


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_MEDIA_CONNECT_TIMEOUT_S="1", LIVE_MEDIA_ICE_SERVERS="stun:stun.example.org:3478"
    )


async def test_sessions_that_never_connect_are_removed(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await live_server.http.post(
        f"/api/rooms/{room['room_id']}/whep",
        content=pc.localDescription.sdp,
        headers={"Content-Type": "application/sdp"},
    )
    assert answer.status_code == 201
    assert answer.headers.get_list("link") == ['<stun:stun.example.org:3478>; rel="ice-server"']
    hub = hub_of(live_server)
    assert len(hub.sessions) == 1
    await pc.close()  # never sends the answer back: ICE cannot complete
    await eventually(lambda: not hub.sessions and not hub.relays, within=20)
