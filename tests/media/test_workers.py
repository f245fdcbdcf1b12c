"""Media with several processes: requests reach the process holding the room's media."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from live.media.routing import forward
from live.settings import PROJECT_ROOT
from tests import redis_server as test_redis
from tests.conftest import ADMIN_TOKEN, LiveServer, free_port, make_settings, start_server
from tests.media.peers import CounterTrack, publish, watch
from tests.media.test_relay import hub_of
from tests.media.test_signalling import SDP_HEADERS, offer_sdp


@pytest.fixture
async def second_server(
    redis_server: test_redis.TestRedis, live_server: LiveServer
) -> AsyncIterator[LiveServer]:
    """Another server process stand-in: same Redis and key prefix, its own media hub."""
    server, task, port, app = await start_server(live_server.services.settings, redis_server.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.state.services, http)
    server.should_exit = True
    await task


async def test_whep_and_delete_on_another_process_reach_the_owner(
    live_server: LiveServer, second_server: LiveServer
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    publisher = await publish(live_server.http, room_id, room["host_token"], CounterTrack())
    viewer = await watch(second_server.http, room_id)
    try:
        await viewer.wait_frames(10)
        assert viewer.location.startswith(f"/api/rooms/{room_id}/whep/")
        assert not hub_of(second_server).sessions
        assert len(hub_of(live_server).sessions) == 2
        assert (await second_server.http.delete(viewer.location)).status_code == 200
        assert len(hub_of(live_server).sessions) == 1
        answer = await second_server.as_user(room["host_token"], "DELETE", publisher.location)
        assert answer.status_code == 200
        assert not hub_of(live_server).sessions
    finally:
        await viewer.close()
        await publisher.close()


async def test_the_internal_listener_wants_the_workers_secret(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    address = hub_of(live_server).address
    host, port = address.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = f"/internal/media/rooms/{room['room_id']}/end"
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    status = (await reader.readline()).split()[1]
    writer.close()
    assert status == b"403"
    # A sibling worker's forward carries the secret.
    status_code, _, _ = await forward(address, "POST", path, [], b"")
    assert status_code == 204


@pytest.mark.slow
async def test_live_serve_with_two_workers(redis_server: test_redis.TestRedis) -> None:
    port = free_port()
    settings = make_settings()
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_REDIS_KEY_PREFIX": settings.redis.key_prefix,
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_MEDIA_WORKER_HEADERS": "true",
    }
    command = ["serve", "--port", str(port), "--workers", "2"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from live.cli import main; main()",
        *command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(PROJECT_ROOT),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=15) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "live serve did not start"
                await asyncio.sleep(0.2)
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            room = (
                await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=auth)
            ).json()
            publisher = await publish(http, room["room_id"], room["host_token"], CounterTrack())
            owner = publisher.answer.headers["x-live-media-worker"] if publisher.answer else ""
            viewers = [await watch(http, room["room_id"]) for _ in range(4)]
            try:
                for viewer in viewers:
                    await viewer.wait_frames(5, within=30)
                for viewer in viewers:
                    assert (await http.delete(viewer.location)).status_code == 200
                await requests_on_either_worker_reach_the_owner(base, room["room_id"], owner)
            finally:
                for peer in [*viewers, publisher]:
                    await peer.close()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def requests_on_either_worker_reach_the_owner(base: str, room_id: str, owner: str) -> None:
    """WHEP offers and DELETEs on fresh connections (so on either worker) all end up in the
    room's media process; at least one of each was forwarded by the other worker."""
    offer = await offer_sdp("video")
    forwarded = {"POST": 0, "DELETE": 0}
    for _ in range(60):
        async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
            answer = await fresh.post(
                f"/api/rooms/{room_id}/whep", content=offer, headers=SDP_HEADERS
            )
        assert answer.status_code == 201, answer.text
        assert answer.headers["x-live-media-worker"] == owner
        via = answer.headers.get("x-live-forwarded-by")
        assert via != owner
        forwarded["POST"] += via is not None
        async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
            gone = await fresh.delete(answer.headers["location"])
        assert gone.status_code == 200
        assert gone.headers["x-live-media-worker"] == owner
        forwarded["DELETE"] += gone.headers.get("x-live-forwarded-by") is not None
        if all(forwarded.values()):
            return
    raise AssertionError(f"no request landed on the other worker: {forwarded}")
