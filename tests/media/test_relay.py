"""WHIP/WHEP through the relay with real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

from tests.conftest import LiveServer
from tests.media.peers import CounterTrack, publish, watch


async def test_viewer_receives_the_publishers_frames_in_order(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    viewer = await watch(live_server.http, room["room_id"])
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], CounterTrack())
    try:
        await viewer.wait_frames(30)
        counters = viewer.counters
        assert counters == sorted(counters)
        assert counters[1:] == list(range(counters[1], counters[1] + len(counters) - 1))
    finally:
        await viewer.close()
        await publisher.close()
    await asyncio.sleep(0.1)
