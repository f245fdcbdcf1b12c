"""What the channel does when a server process or the Redis connection goes away."""

from __future__ import annotations

import asyncio

from live.realtime.store import ChannelStore
from tests.conftest import LiveServer
from tests.realtime.client import channel


async def test_viewers_of_a_dead_process_stop_counting(live_server: LiveServer) -> None:
    svc = live_server.parts
    store: ChannelStore = svc.channel_store
    room = await live_server.new_room()
    room_id = room["room_id"]
    async with channel(live_server.ws_url, room_id) as viewer:
        await viewer.next()
        # Another process reports 5 viewers, then dies: no more heartbeats.
        assert await store.report_presence(room_id, "p_gone", 5, ttl_ms=3000) >= 5
        await viewer.until(lambda e: e["type"] == "viewers" and e["count"] == 6)
        (count,) = await store.viewer_counts([room_id])
        assert count == 6
        # Once its entry's 3 s are up (Redis's clock), only our own viewer counts.
        deadline = asyncio.get_running_loop().time() + 10
        while (await store.viewer_counts([room_id]))[0] != 1:
            assert asyncio.get_running_loop().time() < deadline, "the dead process still counts"
            await asyncio.sleep(0.05)


async def test_losing_the_redis_subscription_asks_clients_to_reconnect(
    live_server: LiveServer,
) -> None:
    svc = live_server.parts
    room = await live_server.new_room()
    async with channel(live_server.ws_url, room["room_id"]) as viewer:
        first = await viewer.next()
        await svc.redis.client_kill_filter(_type="pubsub")
        # Events published meanwhile may be lost: the client resumes from the history.
        assert await viewer.closed_code(within=20) == 1012
    async with channel(
        live_server.ws_url, room["room_id"], since=first["seq"], epoch=first["epoch"]
    ) as back:
        assert (await back.next(within=20))["recovered"] is True
