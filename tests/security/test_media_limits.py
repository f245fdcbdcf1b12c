"""Finding 2: media sessions are capped per client address (its real one, also when a
sibling process forwards the offer to the room's origin) and per room, 429 `rate_limited`
past the caps, over every process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from live.settings import NodeSettings, Settings
from tests import redis_server as test_redis
from tests.conftest import LiveServer, make_settings, start_server
from tests.media.test_relay import hub_of
from tests.media.test_signalling import offer_sdp

ALICE = "203.0.113.5"


def _headers(address: str) -> dict[str, str]:
    return {"Content-Type": "application/sdp", "X-Forwarded-For": address}


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_SERVER_TRUSTED_PROXIES="127.0.0.1/32",
        LIVE_MEDIA_MAX_SESSIONS_PER_IP="3",
        LIVE_MEDIA_MAX_VIEWERS_PER_ROOM="5",
    )


@pytest.fixture
async def sibling(
    redis_server: test_redis.TestRedis, live_server: LiveServer
) -> AsyncIterator[LiveServer]:
    """Another process stand-in on the same Redis: it serves its own viewers and forwards
    WHIP offers to the room's origin."""
    settings = live_server.parts.settings.replace(node=NodeSettings(id="sibling"))
    server, task, port, app = await start_server(settings, redis_server.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task


async def test_media_sessions_are_capped_per_real_address_and_per_room(
    live_server: LiveServer, sibling: LiveServer
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    url = f"/api/rooms/{room_id}/whep"
    offer = await offer_sdp("video", "audio")
    alice, bob = "203.0.113.5", "203.0.113.6"
    codes = [
        (await live_server.http.post(url, content=offer, headers=_headers(alice))).status_code,
        (await live_server.http.post(url, content=offer, headers=_headers(alice))).status_code,
        # Through the sibling (another process): still counted as Alice.
        (await sibling.http.post(url, content=offer, headers=_headers(alice))).status_code,
    ]
    assert codes == [201, 201, 201]
    refused = await sibling.http.post(url, content=offer, headers=_headers(alice))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    refused = await live_server.http.post(url, content=offer, headers=_headers(alice))
    assert refused.status_code == 429
    # Bob's address is another count, on either process.
    first_bob = await sibling.http.post(url, content=offer, headers=_headers(bob))
    assert first_bob.status_code == 201
    assert (
        await live_server.http.post(url, content=offer, headers=_headers(bob))
    ).status_code == 201
    # The room holds 5 viewers: the sixth, from a new address, is refused.
    full = await live_server.http.post(url, content=offer, headers=_headers("203.0.113.7"))
    assert full.status_code == 429
    assert full.json()["error"]["code"] == "rate_limited"
    # Ending a session frees its place at once.
    assert (await live_server.http.delete(first_bob.headers["location"])).status_code == 200
    again = await live_server.http.post(url, content=offer, headers=_headers("203.0.113.7"))
    assert again.status_code == 201
    assert len(hub_of(live_server).sessions) + len(hub_of(sibling).sessions) == 5


async def media_sessions_of(server: LiveServer, address: str) -> int:
    parts = server.parts
    return int(await parts.redis.zcard(parts.keys.media_leases(address)))


async def test_a_forwarded_whip_counts_at_the_origin_under_the_clients_address(
    live_server: LiveServer, sibling: LiveServer
) -> None:
    """The origin counts the address the forwarding process saw, never that process's
    loopback address, and never an address a client wrote in the forwarding header."""
    room = await live_server.new_room()
    url = f"/api/rooms/{room['room_id']}/whip"
    auth = {"Authorization": f"Bearer {room['host_token']}"}
    offer = await offer_sdp("video", "audio")
    first = await live_server.http.post(url, content=offer, headers={**auth, **_headers(ALICE)})
    assert first.status_code == 201
    assert hub_of(live_server).sessions, "this process is the room's origin"
    # The host publishes again through the sibling, claiming another address in the header
    # only our own processes may set: forwarded to the origin, counted as what it is.
    forged = {"X-Live-Client-Address": "198.51.100.1"}
    again = await sibling.http.post(
        url, content=offer, headers={**auth, **_headers("203.0.113.8"), **forged}
    )
    assert again.status_code == 201, again.text
    assert not hub_of(sibling).sessions
    assert await media_sessions_of(live_server, "203.0.113.8") == 1
    assert await media_sessions_of(live_server, "198.51.100.1") == 0
    assert await media_sessions_of(live_server, "127.0.0.1") == 0


async def test_a_clients_own_address_header_is_not_believed(live_server: LiveServer) -> None:
    room_id = (await live_server.new_room())["room_id"]
    offer = await offer_sdp("video", "audio")
    headers = {**_headers(ALICE), "X-Live-Client-Address": "198.51.100.2"}
    answer = await live_server.http.post(
        f"/api/rooms/{room_id}/whep", content=offer, headers=headers
    )
    assert answer.status_code == 201
    assert await media_sessions_of(live_server, ALICE) == 1
    assert await media_sessions_of(live_server, "198.51.100.2") == 0
