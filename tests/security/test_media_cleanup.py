"""Finding 2 (leak): a flood of WHEP offers that never connect leaves nothing behind once
it is reclaimed: no peer connection, session, room relay, limit lease or ICE socket
outlives it, and the same address is admitted again as before the flood."""

from __future__ import annotations

import asyncio
import collections
import gc
import socket

import psutil
import pytest
from aiortc import RTCPeerConnection

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.media.test_relay import eventually, hub_of
from tests.media.test_signalling import SDP_HEADERS, offer_sdp

CAP = 12
OFFERS = 18


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_MEDIA_MAX_SESSIONS_PER_IP=str(CAP),
        # Longer than a flood takes: no session expires (freeing a place) while it runs.
        LIVE_MEDIA_CONNECT_TIMEOUT_S="3",
    )


def live_peer_connections() -> int:
    gc.collect()
    return sum(isinstance(o, RTCPeerConnection) for o in gc.get_objects())


def udp_sockets() -> int:
    """This process's UDP sockets: ICE candidates' sockets, the relay link's."""
    return sum(c.type == socket.SOCK_DGRAM for c in psutil.Process().net_connections("udp"))


async def test_a_flood_of_unconnected_offers_leaves_nothing_behind(
    live_server: LiveServer,
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    url = f"/api/rooms/{room_id}/whep"
    offer = await offer_sdp("video", "audio")
    hub = hub_of(live_server)
    peers_before, sockets_before = live_peer_connections(), udp_sockets()
    gate = asyncio.Semaphore(6)

    async def one() -> int:
        async with gate:
            answer = await live_server.http.post(url, content=offer, headers=SDP_HEADERS)
            return answer.status_code

    for _ in range(2):
        codes = collections.Counter(await asyncio.gather(*(one() for _ in range(OFFERS))))
        # The address's places are all back after each clean-up: the same split again.
        assert codes == {201: CAP, 429: OFFERS - CAP}
        assert live_peer_connections() > peers_before
        await eventually(lambda: not hub.sessions and not hub.relays, within=30)
        assert hub.limits.sessions_held == 0
        # Closed peer connections are freed (timers on the loop may hold one a moment).
        await eventually(
            lambda: live_peer_connections() <= peers_before and udp_sockets() <= sockets_before
        )
