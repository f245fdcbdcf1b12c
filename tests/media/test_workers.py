"""Media with several processes: requests reach the process holding the room's media."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from live.media import aiortc_private
from live.media.frames import is_keyframe
from live.settings import PROJECT_ROOT, NodeSettings
from tests import redis_server as test_redis
from tests.conftest import ADMIN_TOKEN, LiveServer, free_port, make_settings, start_server
from tests.media.peers import CounterTrack, Peer, publish, watch
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
async def two_workers(redis_server: test_redis.TestRedis, **env: str) -> AsyncIterator[str]:
    """`live serve --workers 2` with worker headers on (and the LIVE_* variables `env`),
    healthy; its base URL."""
    port = free_port()
    settings = make_settings()
    env = {
        **serve_env(),
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_REDIS_KEY_PREFIX": settings.redis.key_prefix,
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_MEDIA_WORKER_HEADERS": "true",
        **env,
    }
    command = ["serve", "--port", str(port), "--workers", "2"]
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from live.cli import main; main()",
            *command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(PROJECT_ROOT),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_healthy_async(base, timeout_s=60)
            yield base
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError as exc:
                process.kill()
                await process.wait()
                log.seek(0)
                tail = log.read().decode(errors="replace")[-4000:]
                raise AssertionError(
                    f"live serve did not exit 30 s after SIGTERM:\n{tail}"
                ) from exc


async def new_room(http: httpx.AsyncClient) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    answer = await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=auth)
    assert answer.status_code == 201, answer.text
    room: dict[str, Any] = answer.json()
    return room


def worker_of(peer: Peer) -> str:
    """The pid of the worker that answered the peer's offer (`worker_headers` is on)."""
    assert peer.answer is not None
    return peer.answer.headers["x-live-media-worker"]


async def watch_on(base: str, room_id: str, wanted: Callable[[str], bool]) -> Peer:
    """A viewer whose WHEP, sent on fresh connections until it is, landed on a worker
    whose pid is `wanted`; the others are ended again."""
    for _ in range(60):
        async with httpx.AsyncClient(base_url=base, timeout=20) as fresh:
            peer = await watch(fresh, room_id)
            if wanted(worker_of(peer)):
                return peer
            assert (await fresh.delete(peer.location)).status_code == 200
        await peer.close()
    raise AssertionError("no offer landed on the wanted worker")


async def media_of(http: httpx.AsyncClient, room_id: str, token: str) -> dict[str, Any]:
    answer = await http.get(
        f"/api/rooms/{room_id}/media", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.slow
async def test_live_serve_with_two_workers(redis_server: test_redis.TestRedis) -> None:
    """One room over both workers: the publisher's worker is the origin, viewers on either
    worker receive its frames, and each DELETE reaches the worker holding the session."""
    # The test stops a worker (SIGSTOP); uvicorn's supervisor would replace it after 5 s
    # of silence, sooner than a slow machine lets the test look. (Not for every test: a
    # ping that meets a worker's kill -9 waits this long before the supervisor goes on.)
    async with (
        two_workers(redis_server, LIVE_SERVER_WORKER_HEALTHCHECK_S="60") as base,
        httpx.AsyncClient(base_url=base, timeout=15) as http,
    ):
        room = await new_room(http)
        room_id, token = room["room_id"], room["host_token"]
        publisher = await publish(http, room_id, token, CounterTrack())
        origin = worker_of(publisher)
        viewers = [
            await watch_on(base, room_id, lambda pid: pid == origin),
            await watch_on(base, room_id, lambda pid: pid != origin),
        ]
        edge = worker_of(viewers[1])
        try:
            for viewer in viewers:
                await viewer.wait_frames(10, within=30)
                counters = viewer.counters
                assert counters == list(range(counters[0], counters[0] + len(counters)))

            async def both_workers_counted() -> bool:
                body = await media_of(http, room_id, token)
                rows = {(p["pid"], p["viewers"]) for p in body["by_process"]}
                return bool(rows == {(int(origin), 1), (int(edge), 1)} and body["viewers"] == 2)

            await eventually(both_workers_counted)
            body = await media_of(http, room_id, token)
            assert body["live"] is True and body["origin"]["pid"] == int(origin)
            await a_frozen_edge_costs_the_origin_nothing(base, origin, viewers[1])
            await deletes_reach_the_session(base, room_id, viewers)
        finally:
            for peer in [*viewers, publisher]:
                await peer.close()


async def origin_links_of(base: str, pid: str) -> float | None:
    """The relay links a worker serves as an origin, from /metrics (per live process),
    on a fresh connection (a kept one may belong to a stopped worker)."""
    async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
        text = (await fresh.get("/metrics")).text
    for line in text.splitlines():
        ours = f'pid="{pid}"' in line and 'role="origin"' in line
        if line.startswith("live_media_relay_links{") and ours:
            return float(line.rsplit(" ", 1)[1])
    return None


async def a_frozen_edge_costs_the_origin_nothing(base: str, origin: str, edge_viewer: Peer) -> None:
    """A stopped edge (SIGSTOP: no unsubscribe, no renewals) drops out of the origin's
    relay links within seconds; once it runs again it subscribes again and plays on."""
    edge = int(worker_of(edge_viewer))
    await eventually(lambda: _equals(origin_links_of(base, origin), 1.0))
    os.kill(edge, signal.SIGSTOP)
    try:
        # Only the origin answers now (a stopped worker accepts no connection).
        await eventually(lambda: _equals(origin_links_of(base, origin), 0.0), within=20)
    finally:
        os.kill(edge, signal.SIGCONT)
    await edge_viewer.wait_frames(len(edge_viewer.frames) + 30, within=30)
    await eventually(lambda: _equals(origin_links_of(base, origin), 1.0))


async def _equals(value: Awaitable[float | None], expected: float) -> bool:
    return await value == expected


async def deletes_reach_the_session(base: str, room_id: str, viewers: list[Peer]) -> None:
    """Each viewer's DELETE, on a fresh connection (so on either worker), is answered by
    the worker holding the session; at least one was forwarded there by the other."""
    forwarded = 0
    for viewer in viewers:
        async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
            gone = await fresh.delete(viewer.location)
        assert gone.status_code == 200
        assert gone.headers["x-live-media-worker"] == worker_of(viewer)
        forwarded += gone.headers.get("x-live-forwarded-by") is not None
    for _ in range(60):
        if forwarded:
            return
        # Land a DELETE of a viewer on the worker not holding it.
        async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
            peer = await watch(fresh, room_id)
        async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
            gone = await fresh.delete(peer.location)
        await peer.close()
        assert gone.status_code == 200
        assert gone.headers["x-live-media-worker"] == worker_of(peer)
        forwarded += gone.headers.get("x-live-forwarded-by") is not None
    raise AssertionError("no DELETE landed on the other worker")


async def keeps_playing(viewer: Peer, frames: int, max_gap_s: float = 1.5) -> None:
    """The viewer receives `frames` more frames, never waiting `max_gap_s` for one."""
    start = len(viewer.frames)
    await viewer.wait_frames(start + frames, within=30)
    times = [at for at, _ in viewer.frames[start - 1 if start else 0 :]]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < max_gap_s, f"the picture stopped for {max(gaps):.1f} s"


@pytest.mark.slow
async def test_a_killed_worker_costs_only_its_own_viewers(
    redis_server: test_redis.TestRedis,
) -> None:
    """kill -9 of a worker serving viewers: the origin's viewers never stop. kill -9 of
    the origin: the other worker's viewers keep their sessions and play again once the
    host publishes again (on whichever worker then wins the room)."""
    async with (
        two_workers(redis_server) as base,
        httpx.AsyncClient(base_url=base, timeout=15) as http,
    ):
        room = await new_room(http)
        room_id, token = room["room_id"], room["host_token"]
        publisher = await publish(http, room_id, token, CounterTrack())
        origin = worker_of(publisher)
        on_origin = await watch_on(base, room_id, lambda pid: pid == origin)
        on_edge = await watch_on(base, room_id, lambda pid: pid != origin)
        peers = [publisher, on_origin, on_edge]
        try:
            await on_origin.wait_frames(10, within=30)
            await on_edge.wait_frames(10, within=30)
            os.kill(int(worker_of(on_edge)), signal.SIGKILL)
            await keeps_playing(on_origin, 60)
            # uvicorn starts a new worker in the killed one's place: an edge again.
            dead = worker_of(on_edge)
            later = await watch_on(base, room_id, lambda pid: pid not in (origin, dead))
            peers.append(later)
            await later.wait_frames(10, within=30)
            os.kill(int(origin), signal.SIGKILL)
            track = CounterTrack(first=100_000)
            again = await republish(base, room_id, token, track)
            peers.append(again)
            seen = len(later.frames)
            await eventually(lambda: any(c >= 100_000 for c in later.counters[seen:]), within=30)
            await keeps_playing(later, 30)
            assert later.pc.connectionState == "connected"
            async with httpx.AsyncClient(base_url=base, timeout=15) as fresh:
                assert (await fresh.delete(later.location)).status_code == 200
        finally:
            for peer in peers:
                await peer.close()


async def republish(base: str, room_id: str, token: str, track: CounterTrack) -> Peer:
    """The host's studio publishing again after its worker died: 503 until the dead
    origin's lease lapses (15 s), then 201 from whichever worker claims the room."""
    deadline = time.monotonic() + 45
    while True:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = pc.addTransceiver(track, direction="sendonly")
        # As a browser's encoder: a keyframe whenever the server asks (an edge that
        # subscribes after the first one waits for the next).
        aiortc_private.on_keyframe_request(transceiver.sender, track.request_keyframe)
        await pc.setLocalDescription(await pc.createOffer())
        async with httpx.AsyncClient(base_url=base, timeout=20) as fresh:
            answer = await fresh.post(
                f"/api/rooms/{room_id}/whip",
                content=pc.localDescription.sdp,
                headers={**SDP_HEADERS, "Authorization": f"Bearer {token}"},
            )
        if answer.status_code == 201:
            await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
            return Peer(pc, answer.headers["location"], answer=answer)
        await pc.close()
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, "the host could not publish again"
        await asyncio.sleep(0.5)  # a studio's retry interval


@pytest.mark.slow
async def test_padded_headers_on_the_other_worker_cannot_end_the_show(
    redis_server: test_redis.TestRedis,
) -> None:
    """Issue 19, finding 1: a WHEP offer with a 17,000-character X-Forwarded-For, or an
    Authorization padded with spaces, that lands on the worker not holding the room once
    made the forward fail and that worker take the room over (`live_ended` for everyone).
    Now such an offer is answered by the worker it reached, and the room, its origin and
    its picture stay. The header limit (431 past `[server] max_header_bytes`) is a second
    wall, not the fix: it is raised here so that the offers reach the media routing."""
    async with (
        two_workers(redis_server, LIVE_SERVER_MAX_HEADER_BYTES="65536") as base,
        httpx.AsyncClient(base_url=base, timeout=15) as http,
    ):
        room = await new_room(http)
        room_id = room["room_id"]
        publisher = await publish(http, room_id, room["host_token"], CounterTrack())
        owner = worker_of(publisher)
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
            body = await media_of(http, room_id, room["host_token"])
            assert body["origin"]["pid"] == int(owner)
            late = await watch(http, room_id)
            try:
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
    """Offer with header `name: value` on fresh connections until one was answered by the
    worker not holding the room's publisher."""
    offer = await offer_sdp("video")
    for _ in range(60):
        async with httpx.AsyncClient(base_url=base, timeout=20) as fresh:
            answer = await fresh.post(
                f"/api/rooms/{room_id}/whep", content=offer, headers={**SDP_HEADERS, name: value}
            )
            assert answer.status_code == 201, answer.text
            gone = await fresh.delete(answer.headers["location"])
            assert gone.status_code == 200
        if answer.headers["x-live-media-worker"] != owner:
            return
    raise AssertionError(f"no offer with a padded {name} landed on the other worker")


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
