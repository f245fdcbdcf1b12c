"""`[limits] connections_per_ip` is one cap over every worker process, kept in Redis:
two servers (two processes' worth: two hubs, one Redis, one key prefix) share it, a
process that stops renewing its leases stops counting, exempt networks are not counted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed

from live.app import Parts
from live.realtime.hub import RoomHub
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings
from tests.conftest import LiveServer, make_settings, start_server
from tests.realtime.client import ChannelClient, channel
from tests.redis_server import TestRedis

LIMIT = 3
HEARTBEAT_S = 0.2
LEASE_S = 3 * HEARTBEAT_S
IP = "127.0.0.1"


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_LIMITS_CONNECTIONS_PER_IP=str(LIMIT),
        LIVE_REALTIME_PRESENCE_HEARTBEAT_S=str(HEARTBEAT_S),
    )


@dataclass
class OtherServer:
    """A second in-process server on the same Redis and key prefix: another worker."""

    ws_url: str
    parts: Parts
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def hub(self) -> RoomHub:
        hub: RoomHub = self.parts.room_hub
        return hub

    async def stop(self) -> None:
        self.server.should_exit = True
        if not self.task.done():
            await self.task


@pytest.fixture
async def other(redis_server: TestRedis, settings: Settings) -> AsyncIterator[OtherServer]:
    server, task, port, app = await start_server(settings, redis_server.url)
    second = OtherServer(f"ws://127.0.0.1:{port}", app.parts, server, task)
    yield second
    await second.stop()


def hub_of(live: LiveServer) -> RoomHub:
    hub: RoomHub = live.parts.room_hub
    return hub


async def admitted(stack: contextlib.AsyncExitStack, ws_url: str, room_id: str) -> ChannelClient:
    client = await stack.enter_async_context(channel(ws_url, room_id))
    assert (await client.next())["type"] == "snapshot"
    return client


async def refusal(ws_url: str, room_id: str) -> tuple[int | None, str]:
    """The close code and reason of a connection the server refuses at once."""
    async with channel(ws_url, room_id) as client:
        code = await client.closed_code()
        return code, client.ws.close_reason or ""


async def admitted_within(
    stack: contextlib.AsyncExitStack, ws_url: str, room_id: str, within: float
) -> ChannelClient:
    """Retry until the server admits a connection (a freed slot shows up shortly)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        client = await stack.enter_async_context(channel(ws_url, room_id))
        with contextlib.suppress(ConnectionClosed):
            assert (await client.next())["type"] == "snapshot"
            return client
        assert client.ws.close_code == 1013
        assert loop.time() < deadline, "no slot was freed in time"
        await asyncio.sleep(0.05)


async def leases(redis: Any, key: str) -> list[str]:
    members = await redis.zrange(key, 0, -1)
    return sorted(m.decode() if isinstance(m, bytes) else m for m in members)


async def test_two_workers_share_one_cap(live_server: LiveServer, other: OtherServer) -> None:
    room_id = (await live_server.new_room())["room_id"]
    key = live_server.parts.keys.conn_leases(IP)
    async with contextlib.AsyncExitStack() as stack:
        first = await admitted(stack, live_server.ws_url, room_id)
        await admitted(stack, live_server.ws_url, room_id)
        await admitted(stack, other.ws_url, room_id)
        # Each process holds fewer than the limit; together they hold all of it.
        assert hub_of(live_server).cap.held_here(IP) == 2
        assert other.hub.cap.held_here(IP) == 1
        owners = [m.split(":")[0] for m in await leases(live_server.parts.redis, key)]
        assert sorted(owners) == sorted(
            [hub_of(live_server).process_id] * 2 + [other.hub.process_id]
        )
        # Well past the leases' first deadline: the heartbeats keep them counted.
        await asyncio.sleep(LEASE_S * 2.5)
        for ws_url in (other.ws_url, live_server.ws_url):
            code, reason = await refusal(ws_url, room_id)
            assert code == 1013
            assert "too many connections" in reason
        assert len(await leases(live_server.parts.redis, key)) == LIMIT
        # Closing one (on the first server) frees a slot for the other server.
        await first.ws.close()
        await admitted_within(stack, other.ws_url, room_id, within=5)
        assert other.hub.cap.held_here(IP) == 2
        assert await refusal(live_server.ws_url, room_id) == (
            1013,
            "too many connections from this address",
        )
    # Every normal close removes its lease.
    for _ in range(50):
        if not await leases(live_server.parts.redis, key):
            break
        await asyncio.sleep(0.05)
    assert await leases(live_server.parts.redis, key) == []


async def test_a_worker_that_stops_renewing_stops_counting(
    live_server: LiveServer, other: OtherServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    async with contextlib.AsyncExitStack() as stack:
        await admitted(stack, other.ws_url, room_id)
        await admitted(stack, other.ws_url, room_id)
        await admitted(stack, live_server.ws_url, room_id)
        assert (await refusal(live_server.ws_url, room_id))[0] == 1013

        # The other worker hangs (or was killed): its leases are no longer renewed.
        async def frozen() -> None:
            return None

        monkeypatch.setattr(other.hub.cap, "refresh", frozen)
        # Within 3 heartbeats its two connections stop counting; ours still counts.
        for _ in range(2):
            await admitted_within(stack, live_server.ws_url, room_id, within=LEASE_S * 3)
        assert hub_of(live_server).cap.held_here(IP) == LIMIT
        await asyncio.sleep(LEASE_S * 2)
        assert (await refusal(live_server.ws_url, room_id))[0] == 1013


async def test_leases_left_by_a_dead_process_run_out(live_server: LiveServer) -> None:
    svc = live_server.parts
    room_id = (await live_server.new_room())["room_id"]
    key = svc.keys.conn_leases(IP)
    seconds, micros = await svc.redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    # A process killed a moment ago: its leases end within one lease's time.
    deadline = now_ms + 500
    await svc.redis.zadd(key, {f"p_dead:c_{n}": deadline for n in range(LIMIT)})
    await svc.redis.zadd(key, {"p_older:c_0": now_ms - 1})  # already run out
    assert (await refusal(live_server.ws_url, room_id))[0] == 1013
    async with contextlib.AsyncExitStack() as stack:
        await admitted_within(stack, live_server.ws_url, room_id, within=3)
        members = await leases(svc.redis, key)
        assert len(members) == 1 and members[0].startswith(hub_of(live_server).process_id + ":")
        # The key expires with the last lease (no key lives forever).
        assert 0 < await svc.redis.pttl(key) <= LEASE_S * 1000


async def test_a_stopped_worker_gives_its_leases_back(
    live_server: LiveServer, other: OtherServer
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    key = live_server.parts.keys.conn_leases(IP)
    async with contextlib.AsyncExitStack() as stack:
        await admitted(stack, live_server.ws_url, room_id)
        for _ in range(LIMIT - 1):
            await admitted(stack, other.ws_url, room_id)
        await other.stop()
        # A graceful stop (1012 to its clients) removes its leases at once.
        owners = {m.split(":")[0] for m in await leases(live_server.parts.redis, key)}
        assert owners == {hub_of(live_server).process_id}
        await admitted(stack, live_server.ws_url, room_id)
        await admitted(stack, live_server.ws_url, room_id)
        assert (await refusal(live_server.ws_url, room_id))[0] == 1013


async def test_exempt_networks_are_not_counted(redis_server: TestRedis) -> None:
    settings = make_settings(
        LIVE_LIMITS_CONNECTIONS_PER_IP="1", LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8"
    )
    server, task, port, app = await start_server(settings, redis_server.url)
    try:
        svc: Parts = app.parts
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            room = await LiveServer(base, "", svc, http).new_room()
        ws_url = f"ws://127.0.0.1:{port}"
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(4):
                await admitted(stack, ws_url, room["room_id"])
            assert not await svc.redis.exists(svc.keys.conn_leases(IP))
    finally:
        server.should_exit = True
        await task


async def test_the_scripts_admit_refuse_renew_and_never_revive(redis: Redis) -> None:
    keys = Keys(make_settings().redis.key_prefix)
    scripts = Scripts(redis)
    key = keys.conn_leases("203.0.113.9")

    async def admit(member: str, limit: int = 2, lease_ms: int = 10_000) -> list[int]:
        reply = await scripts.call("conn_admit", [key], [member, limit, lease_ms])
        return [int(x) for x in reply]

    assert await admit("p1:a") == [1, 1]
    assert await admit("p2:b") == [1, 2]
    assert await admit("p2:c") == [0, 2]
    assert await admit("p1:a") == [1, 2]  # the same connection again: renewed, not doubled
    assert 0 < await redis.pttl(key) <= 10_000
    await redis.zrem(key, "p2:b")
    # A renewal racing a release does not bring the released lease back.
    renewed = await scripts.call("conn_refresh", [key], [60_000, "p1:a", "p2:b"])
    assert int(renewed) == 1
    assert await leases(redis, key) == ["p1:a"]
    assert 10_000 < await redis.pttl(key) <= 60_000
    # Run-out leases are dropped, not renewed, and the key goes with the last of them.
    await redis.zadd(key, {"p1:a": 1})
    assert int(await scripts.call("conn_refresh", [key], [60_000, "p1:a"])) == 0
    assert not await redis.exists(key)
