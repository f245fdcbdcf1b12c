"""Media with several processes: requests reach the process holding the room's media."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from live.media.frames import is_keyframe
from live.settings import PROJECT_ROOT, NodeSettings
from tests import redis_server as test_redis
from tests.conftest import ADMIN_TOKEN, LiveServer, free_port, make_settings, start_server
from tests.media.peers import CounterTrack, publish, watch
from tests.media.test_relay import eventually, hub_of
from tests.media.test_signalling import SDP_HEADERS, offer_sdp
from tests.serving import serve_env, wait_healthy_async


@pytest.fixture
async def second_server(
    redis_server: test_redis.TestRedis, live_server: LiveServer
) -> AsyncIterator[LiveServer]:
    """Another server process stand-in: same Redis and key prefix, its own media hub."""
    settings = live_server.parts.settings.replace(node=NodeSettings(id="second"))
    server, task, port, app = await start_server(settings, redis_server.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task


async def test_whep_on_another_process_is_served_there_over_the_relay_link(
    live_server: LiveServer, second_server: LiveServer
) -> None:
    """The publisher's process is the room's origin; a viewer's WHEP on another process is
    answered there, which pulls one copy of each frame from the origin and sends it on."""
    room = await live_server.new_room()
    room_id = room["room_id"]
    track = CounterTrack()
    publisher = await publish(live_server.http, room_id, room["host_token"], track)
    viewer = await watch(second_server.http, room_id)
    origin, edge = hub_of(live_server), hub_of(second_server)
    try:
        await viewer.wait_frames(10)
        # The publisher's frames, untouched and in order, through the edge.
        counters = viewer.counters
        assert counters == list(range(counters[0], counters[0] + len(counters)))
        assert [s.role for s in origin.sessions.values()] == ["publisher"]
        assert [s.role for s in edge.sessions.values()] == ["viewer"]
        assert origin_links(live_server, room_id) == 1
        # A viewer's DELETE landing on the origin reaches the process holding the session.
        assert (await live_server.http.delete(viewer.location)).status_code == 200
        assert not edge.sessions
        assert (await live_server.http.delete(viewer.location)).status_code == 404
        # The edge unsubscribed: the origin sends the room to nobody.
        await eventually(lambda: origin_links(live_server, room_id) == 0)
        # The publisher's DELETE landing on the edge is forwarded to the origin.
        answer = await second_server.as_user(room["host_token"], "DELETE", publisher.location)
        assert answer.status_code == 200
        assert not origin.sessions
    finally:
        await viewer.close()
        await publisher.close()


def origin_links(server: LiveServer, room_id: str) -> int:
    return hub_of(server)._links.edges(room_id)


async def test_an_edge_viewers_pli_reaches_the_publisher(
    live_server: LiveServer, second_server: LiveServer
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    track = CounterTrack()
    publisher = await publish(live_server.http, room_id, room["host_token"], track)
    viewer = await watch(second_server.http, room_id)
    try:
        await viewer.wait_frames(5)
        # The edge's viewer joined mid-stream and got a keyframe first.
        assert is_keyframe("vp8", viewer.frames[0][1].data)
        before = track.keyframes
        await asyncio.sleep(0.6)  # past the per-room keyframe throttle (0.5 s)
        seen = len(viewer.frames)
        await viewer.send_pli()
        await eventually(lambda: track.keyframes > before, within=5)
        await eventually(
            lambda: any(is_keyframe("vp8", f.data) for _, f in viewer.frames[seen:]), within=5
        )
    finally:
        await viewer.close()
        await publisher.close()


async def test_the_rooms_media_endpoint_counts_viewers_per_process(
    live_server: LiveServer, second_server: LiveServer
) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    path = f"/api/rooms/{room_id}/media"
    assert (await live_server.http.get(path)).status_code == 401
    viewer_token = (await live_server.http.post("/api/sessions", json={"name": "v"})).json()
    assert (await live_server.as_user(viewer_token["token"], "GET", path)).status_code == 403
    publisher = await publish(live_server.http, room_id, token, CounterTrack())
    viewers = [
        await watch(live_server.http, room_id),
        await watch(second_server.http, room_id),
        await watch(second_server.http, room_id),
    ]
    node = hub_of(live_server).node_id
    try:
        for viewer in viewers:
            await viewer.wait_frames(3)
        expected = sorted([(node, os.getpid(), 1), ("second", os.getpid(), 2)])

        async def counted() -> bool:
            body = (await live_server.as_user(token, "GET", path)).json()
            rows = sorted((p["node_id"], p["pid"], p["viewers"]) for p in body["by_process"])
            return bool(rows == expected and body["viewers"] == 3 and body["live"])

        await eventually(counted)
        body = (await second_server.admin("GET", path)).json()
        assert body["origin"] == {"node_id": node, "pid": os.getpid()}
        for viewer in viewers[1:]:
            assert (await second_server.http.delete(viewer.location)).status_code == 200

        async def only_the_origins_viewer() -> bool:
            body = (await live_server.as_user(token, "GET", path)).json()
            return bool(body["by_process"] == [{"node_id": node, "pid": os.getpid(), "viewers": 1}])

        await eventually(only_the_origins_viewer)
        missing = await live_server.admin("GET", "/api/rooms/r_doesnotexist/media")
        assert missing.status_code == 404
    finally:
        for peer in [*viewers, publisher]:
            await peer.close()


async def test_the_internal_listener_wants_the_workers_secret(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    address = hub_of(live_server).url
    host, port = address.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    path = f"/internal/media/rooms/{room['room_id']}/end"
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
    await writer.drain()
    status = (await reader.readline()).split()[1]
    writer.close()
    assert status == b"403"
    # A sibling worker's forward carries the secret.
    answer = await live_server.parts.forwarder.send(address, "POST", path)
    assert answer.status_code == 204


@contextlib.asynccontextmanager
async def two_workers(redis_server: test_redis.TestRedis) -> AsyncIterator[str]:
    """`live serve --workers 2` with worker headers on, healthy; its base URL."""
    port = free_port()
    settings = make_settings()
    env = {
        **serve_env(),
        "LIVE_REDIS_URL": redis_server.url,
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
        await wait_healthy_async(base, timeout_s=60)
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def new_room(http: httpx.AsyncClient) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    answer = await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=auth)
    assert answer.status_code == 201, answer.text
    room: dict[str, Any] = answer.json()
    return room


@pytest.mark.slow
async def test_live_serve_with_two_workers(redis_server: test_redis.TestRedis) -> None:
    async with (
        two_workers(redis_server) as base,
        httpx.AsyncClient(base_url=base, timeout=15) as http,
    ):
        room = await new_room(http)
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


@pytest.mark.slow
async def test_padded_headers_on_the_other_worker_cannot_end_the_show(
    redis_server: test_redis.TestRedis,
) -> None:
    """Issue 19, finding 1: a WHEP offer with a 17,000-character X-Forwarded-For, or an
    Authorization padded with spaces, that lands on the worker not holding the room once
    made the forward fail and that worker take the room over (`live_ended` for everyone).
    Now it is answered like any offer, and the room, its owner and its picture stay."""
    async with (
        two_workers(redis_server) as base,
        httpx.AsyncClient(base_url=base, timeout=15) as http,
    ):
        room = await new_room(http)
        room_id = room["room_id"]
        publisher = await publish(http, room_id, room["host_token"], CounterTrack())
        assert publisher.answer is not None
        owner = publisher.answer.headers["x-live-media-worker"]
        first = await watch(http, room_id)
        try:
            await first.wait_frames(5, within=30)
            viewer_token = (await http.post("/api/sessions", json={"name": "v"})).json()["token"]
            padded = {
                "X-Forwarded-For": ", ".join(["1.2.3.4"] * 1900),  # about 17,000 characters
                "Authorization": "Bearer " + " " * 17_000 + viewer_token,
            }
            assert all(len(value) > 17_000 for value in padded.values())
            for name, value in padded.items():
                await padded_offer_lands_on_the_other_worker(base, room_id, owner, name, value)
            state = (await http.get(f"/api/rooms/{room_id}")).json()
            assert state["live"] is True and state["status"] == "open"
            late = await watch(http, room_id)
            try:
                assert late.answer is not None
                assert late.answer.headers["x-live-media-worker"] == owner
                await late.wait_frames(5, within=30)
            finally:
                await late.close()
            await first.wait_frames(len(first.frames) + 5, within=30)
        finally:
            await first.close()
            await publisher.close()


async def padded_offer_lands_on_the_other_worker(
    base: str, room_id: str, owner: str, name: str, value: str
) -> None:
    """Offer with header `name: value` on fresh connections until one was forwarded by the
    worker not holding the room; each is answered by the owner, which stays the owner."""
    offer = await offer_sdp("video")
    for _ in range(60):
        async with httpx.AsyncClient(base_url=base, timeout=20) as fresh:
            answer = await fresh.post(
                f"/api/rooms/{room_id}/whep", content=offer, headers={**SDP_HEADERS, name: value}
            )
            assert answer.status_code == 201, answer.text
            assert answer.headers["x-live-media-worker"] == owner
            gone = await fresh.delete(answer.headers["location"])
            assert gone.status_code == 200
        if answer.headers.get("x-live-forwarded-by") is not None:
            return
    raise AssertionError(f"no offer with a padded {name} landed on the other worker")


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


async def test_a_failed_forward_answers_503_and_changes_nothing(live_server: LiveServer) -> None:
    """An origin that does not answer costs that one WHIP a 503: the room keeps its
    origin and its live flag until the origin's lease expires; then it is claimed anew.
    WHEP is served here meanwhile (the viewer waits for the picture)."""
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    parts = live_server.parts
    key = parts.keys.room_media_owner(room_id)
    gone_owner = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    await parts.redis.set(key, gone_owner, px=15_000)
    await parts.rooms.set_live(room_id, True, parts.clock.now_ms())
    offer = await offer_sdp("video")
    whip = f"/api/rooms/{room_id}/whip"
    headers = {**SDP_HEADERS, "Authorization": f"Bearer {token}"}
    refused = await live_server.http.post(whip, content=offer, headers=headers)
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable"
    ended = await live_server.as_user(token, "DELETE", f"{whip}/p0123456789abcdef")
    assert ended.status_code == 503
    viewer = await live_server.http.post(
        f"/api/rooms/{room_id}/whep", content=offer, headers=SDP_HEADERS
    )
    assert viewer.status_code == 201, viewer.text
    assert await parts.redis.get(key) == gone_owner.encode()
    assert (await live_server.http.get(f"/api/rooms/{room_id}")).json()["live"] is True
    # The lease runs out (its process is gone): the next WHIP claims the room here.
    await parts.redis.delete(key)
    answer = await live_server.http.post(whip, content=offer, headers=headers)
    assert answer.status_code == 201, answer.text
    assert await parts.redis.get(key) == hub_of(live_server).address.encode()
    assert (await live_server.http.get(f"/api/rooms/{room_id}")).json()["live"] is False
    assert (
        await live_server.as_user(token, "DELETE", answer.headers["location"])
    ).status_code == 200
    assert (await live_server.http.delete(viewer.headers["location"])).status_code == 200
