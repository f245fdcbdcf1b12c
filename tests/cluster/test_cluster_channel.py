"""The room channel on a real Redis Cluster (sharded pub/sub): events published by one
server's scripts reach viewers on another server, in order, and resume with `since`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from live.realtime.protocol import CLOSE_RESTARTING
from tests.conftest import LiveServer, start_server
from tests.realtime.client import channel
from tests.redis_cluster import TestRedisCluster


@pytest.fixture
async def second_server(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer
) -> AsyncIterator[LiveServer]:
    """Another server (its own hub and subscriptions) on the same cluster and key prefix."""
    settings = cluster_server.parts.settings
    server, task, port, app = await start_server(settings, redis_cluster.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task


async def _rooms_on_every_primary(
    server: LiveServer, cluster: TestRedisCluster
) -> list[dict[str, Any]]:
    """New rooms until each of the three primaries holds one (ids are random)."""
    by_primary: dict[int, dict[str, Any]] = {}
    for _ in range(60):
        room = await server.new_room()
        tag = server.parts.keys.room(room["room_id"])
        by_primary.setdefault(cluster.primary_of(tag), room)
        if len(by_primary) == 3:
            break
    assert len(by_primary) == 3
    return list(by_primary.values())


async def test_chat_and_pins_reach_viewers_on_another_server_in_seq_order(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer, second_server: LiveServer
) -> None:
    for room in await _rooms_on_every_primary(cluster_server, redis_cluster):
        room_id, host_token = room["room_id"], room["host_token"]
        product = await cluster_server.new_product(title="Washed linen shirt")
        answer = await cluster_server.as_user(
            host_token, "POST", f"/api/rooms/{room_id}/products", json={"sku": product["sku"]}
        )
        assert answer.status_code == 201, answer.text
        viewer = await second_server.new_viewer("Mei")
        async with (
            channel(second_server.ws_url, room_id, viewer["token"]) as mei,
            channel(cluster_server.ws_url, room_id, host_token) as host,
        ):
            snapshot = await mei.next()
            assert snapshot["type"] == "snapshot"
            await host.of_type("snapshot")
            for text in ("hello", "is it linen?"):
                await host.send({"type": "chat", "text": text})
            await host.send({"type": "pin", "sku": product["sku"]})
            seen = [await mei.until(lambda e: e["type"] in ("chat", "pin")) for _ in range(3)]
            assert [e.get("text") for e in seen[:2]] == ["hello", "is it linen?"]
            assert seen[2]["type"] == "pin"
            assert seen[2]["product"]["title"] == "Washed linen shirt"
            # And back: a viewer's chat on the second server reaches the host on the first.
            await mei.send({"type": "chat", "text": "love it"})
            reply = await host.until(lambda e: e.get("text") == "love it")
            seqs = [e["seq"] for e in [*seen, reply]]
            assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 5))


async def test_resume_on_another_server_returns_exactly_the_missed_events(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer, second_server: LiveServer
) -> None:
    room = await cluster_server.new_room()
    room_id, host_token = room["room_id"], room["host_token"]
    async with channel(cluster_server.ws_url, room_id) as viewer:
        first = await viewer.next()
    async with channel(cluster_server.ws_url, room_id, host_token) as host:
        await host.next()
        for n in range(4):
            await host.send({"type": "chat", "text": f"missed {n}"})
        for _ in range(4):
            await host.of_type("chat")
    since: dict[str, Any] = {"since": first["seq"], "epoch": first["epoch"]}
    async with channel(second_server.ws_url, room_id, **since) as back:
        snapshot = await back.next()
        assert snapshot["recovered"] is True
        missed = [await back.next() for _ in range(4)]
        assert [e["text"] for e in missed] == [f"missed {n}" for n in range(4)]
        assert [e["seq"] for e in missed] == list(range(first["seq"] + 1, first["seq"] + 5))


@pytest.mark.slow
async def test_a_dead_primary_closes_only_its_own_rooms_channels(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer
) -> None:
    lost, kept = (await _rooms_on_every_primary(cluster_server, redis_cluster))[:2]
    keys = cluster_server.parts.keys
    victim = redis_cluster.primary_of(keys.room(lost["room_id"]))
    try:
        async with (
            channel(cluster_server.ws_url, lost["room_id"]) as on_lost,
            channel(cluster_server.ws_url, kept["room_id"], kept["host_token"]) as on_kept,
        ):
            await on_lost.next()
            await on_kept.next()
            redis_cluster.kill(victim)
            # Its events may be missed: told to reconnect (and resume with `since`).
            assert await on_lost.closed_code(within=20) == CLOSE_RESTARTING
            # Another shard's room goes on, on the same connection.
            await on_kept.send({"type": "chat", "text": "still on air"})
            chat = await on_kept.until(lambda e: e.get("text") == "still on air")
            assert chat["type"] == "chat"
    finally:
        redis_cluster.restart(victim)  # in this thread: the node dies with its parent thread
        await asyncio.to_thread(redis_cluster.wait_ready)
