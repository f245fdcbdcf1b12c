"""One room over several nodes, in one test process: each node here is a whole app (its
own node id, advertise URL, relay link and registry heartbeat) on one real Redis. The same
over real `live serve` processes on a Redis Cluster: tests/cluster/test_cluster_nodes.py."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import av
import httpx
import orjson
import pytest

from live.media.frames import is_keyframe
from live.routing.nodes import ProcessEntry
from live.routing.peers import PATH, NodeCall, NodePeers
from live.routing.sealed import RequestSealer
from live.routing.workers import WorkerAddress
from live.settings import PROJECT_ROOT, NodeSettings
from tests import redis_server as test_redis
from tests.conftest import ADMIN_TOKEN, LiveServer, free_port, make_settings, start_server
from tests.media.peers import CounterTrack, Peer, counter_of, publish, synthetic_frame, watch
from tests.media.test_browser import PUBLISH, launch
from tests.media.test_relay import eventually, hub_of
from tests.media.test_signalling import SDP_HEADERS, offer_sdp
from tests.realtime.client import channel

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextlib.asynccontextmanager
async def nodes(
    redis: test_redis.TestRedis, names: str = "abc", **env: str
) -> AsyncIterator[list[LiveServer]]:
    """One in-process server per letter of `names`, each its own node, one deployment."""
    base = make_settings(**env)
    servers: list[Any] = []
    try:
        for name in names:
            settings = base.replace(node=NodeSettings(id=f"node-{name}"))
            server, task, port, app = await start_server(settings, redis.url)
            http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15)
            live = LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", app.parts, http)
            servers.append((server, task, live))
        yield [live for _, _, live in servers]
    finally:
        for server, task, live in reversed(servers):
            await live.http.aclose()
            server.should_exit = True
            await task


async def room_media(server: LiveServer, room_id: str) -> dict[str, Any]:
    answer = await server.admin("GET", f"/api/rooms/{room_id}/media")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def origin_node(server: LiveServer, room_id: str) -> str:
    body = await room_media(server, room_id)
    assert body["origin"] is not None
    return str(body["origin"]["node_id"])


def in_order(peer: Peer) -> bool:
    counters = peer.counters
    return counters == list(range(counters[0], counters[0] + len(counters)))


async def test_a_room_over_three_nodes(redis_server: test_redis.TestRedis) -> None:
    """The publisher's node is the origin; each other node with viewers pulls the room
    once over a sealed relay link and serves its own viewers."""
    async with nodes(redis_server) as (a, b, c):
        room = await a.new_room()
        room_id = room["room_id"]
        publisher = await publish(a.http, room_id, room["host_token"], CounterTrack())
        viewers = [await watch(b.http, room_id), await watch(c.http, room_id)]
        viewers.append(await watch(c.http, room_id))
        try:
            assert await origin_node(b, room_id) == "node-a"
            for viewer in viewers:
                await viewer.wait_frames(10)
                assert in_order(viewer)
            # node-a sends each frame once to each node, whatever its viewers there.
            assert hub_of(a)._links.edges(room_id) == 2
            body = await room_media(c, room_id)
            assert body["relays"] == [
                {"node_id": "node-b", "pid": body["origin"]["pid"], "parent": "node-a"},
                {"node_id": "node-c", "pid": body["origin"]["pid"], "parent": "node-a"},
            ]

            async def counted() -> bool:
                media = await room_media(a, room_id)
                rows = {(p["node_id"], p["viewers"]) for p in media["by_process"]}
                return rows == {("node-b", 1), ("node-c", 2)} and media["viewers"] == 3

            await eventually(counted)
            # A viewer's DELETE reaching another node is run on the node holding it.
            gone = await a.http.delete(viewers[2].location)
            assert gone.status_code == 200
            assert len(hub_of(c).sessions) == 1
            assert (await b.http.delete(viewers[2].location)).status_code == 404
        finally:
            for peer in [*viewers, publisher]:
                await peer.close()


async def test_past_max_relay_children_nodes_form_a_tree(
    redis_server: test_redis.TestRedis,
) -> None:
    """With `[media] max_relay_children = 1`, the origin's node feeds one node, which
    feeds the next; the frames reach the bottom untouched and the room's end reaches it."""
    async with nodes(redis_server, LIVE_MEDIA_MAX_RELAY_CHILDREN="1") as (a, b, c):
        room = await a.new_room()
        room_id = room["room_id"]
        publisher = await publish(a.http, room_id, room["host_token"], CounterTrack())
        first = await watch(b.http, room_id)
        try:
            await first.wait_frames(5)
            last = await watch(c.http, room_id)
            await last.wait_frames(10)
            assert in_order(last)
            relays = {r["node_id"]: r["parent"] for r in (await room_media(a, room_id))["relays"]}
            assert relays == {"node-b": "node-a", "node-c": "node-b"}
            assert hub_of(a)._links.edges(room_id) == 1
            assert hub_of(b)._links.edges(room_id) == 1
            assert (await a.admin("POST", f"/api/rooms/{room_id}/end")).status_code == 200
            # The end travels down the tree: node-c's viewer is closed too.
            await eventually(lambda: not hub_of(c).sessions and not hub_of(b).sessions)
        finally:
            for peer in (first, last, publisher):
                await peer.close()


async def test_whip_to_another_node_is_proxied_to_the_origin(
    redis_server: test_redis.TestRedis,
) -> None:
    """The host's studio reconnecting through another node takes over the publisher at
    the origin (the node it reached forwards the offer, sealed); viewers stay."""
    async with nodes(redis_server) as (a, b, c):
        room = await a.new_room()
        room_id, token = room["room_id"], room["host_token"]
        first = await publish(a.http, room_id, token, CounterTrack())
        viewer = await watch(b.http, room_id)
        again: Peer | None = None
        try:
            await viewer.wait_frames(5)
            again = await publish(c.http, room_id, token, CounterTrack(first=100_000))
            assert again.location.startswith(f"/api/rooms/{room_id}/whip/")
            assert await origin_node(c, room_id) == "node-a"
            await eventually(lambda: any(n >= 100_000 for n in viewer.counters), within=20)
            assert [s.role for s in hub_of(c).sessions.values()] == []
            # Its DELETE through yet another node ends it at the origin.
            gone = await b.as_user(token, "DELETE", again.location)
            assert gone.status_code == 200
            await eventually(
                lambda: all(s.role != "publisher" for s in hub_of(a).sessions.values())
            )
        finally:
            for peer in (viewer, first, again):
                if peer is not None:
                    await peer.close()


def publishers(server: LiveServer) -> list[str]:
    return [s.session_id for s in hub_of(server).sessions.values() if s.role == "publisher"]


async def test_a_new_rooms_origin_goes_to_the_least_loaded_node(
    redis_server: test_redis.TestRedis,
) -> None:
    async with nodes(redis_server, names="ab") as (a, _):
        first = await a.new_room()
        busy = await publish(a.http, first["room_id"], first["host_token"], CounterTrack())
        second = await a.new_room()
        other: Peer | None = None
        try:
            await eventually(lambda: nodes_listing(a, "node-a", "origins", 1))
            # The second room's WHIP reaches node-a, which already holds a show.
            other = await publish(a.http, second["room_id"], second["host_token"], CounterTrack())
            assert await origin_node(a, second["room_id"]) == "node-b"
            viewer = await watch(a.http, second["room_id"])
            try:
                await viewer.wait_frames(5)
            finally:
                await viewer.close()
        finally:
            for peer in (busy, other):
                if peer is not None:
                    await peer.close()


async def nodes_listing(server: LiveServer, node_id: str, field: str, value: int) -> bool:
    listed = (await server.admin("GET", "/api/nodes")).json()["nodes"]
    return any(n["node_id"] == node_id and n[field] == value for n in listed)


async def test_the_nodes_endpoint(redis_server: test_redis.TestRedis) -> None:
    async with nodes(redis_server, names="ab") as (a, b):
        assert (await a.http.get("/api/nodes")).status_code == 401
        viewer = await a.new_viewer()
        assert (await a.as_user(viewer["token"], "GET", "/api/nodes")).status_code == 403
        room = await a.new_room()
        host = await a.as_user(room["host_token"], "GET", "/api/nodes")
        assert host.status_code == 403
        publisher = await publish(b.http, room["room_id"], room["host_token"], CounterTrack())
        watching = await watch(a.http, room["room_id"])
        try:
            await watching.wait_frames(3)
            await eventually(lambda: nodes_listing(a, "node-a", "media_viewers", 1))
            await eventually(lambda: nodes_listing(a, "node-b", "origins", 1))
            listed = {n["node_id"]: n for n in (await b.admin("GET", "/api/nodes")).json()["nodes"]}
            assert set(listed) == {"node-a", "node-b"}
            node_a, node_b = listed["node-a"], listed["node-b"]
            assert node_a["url"] == a.base_url and node_b["url"] == b.base_url
            assert node_a["workers"] == 1 and node_b["workers"] == 1
            assert (node_a["rooms"], node_b["rooms"]) == (1, 1)
            assert (node_a["origins"], node_b["origins"]) == (0, 1)
            assert node_b["media_viewers"] == 0
            now = a.parts.clock.now_ms()
            assert all(abs(now - n["seen_at"]) < 10_000 for n in listed.values())
        finally:
            await watching.close()
            await publisher.close()


async def test_a_drained_node_takes_no_new_room(redis_server: test_redis.TestRedis) -> None:
    async with nodes(redis_server, names="ab") as (a, b):
        path = "/api/nodes/node-b/drain"
        room = await a.new_room()
        assert (await b.as_user(room["host_token"], "POST", path, json={})).status_code == 403
        missing = await b.admin("POST", "/api/nodes/node-z/drain", json={})
        assert missing.status_code == 404
        bad = await b.admin("POST", path, json={"draining": "yes"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "draining"
        drained = await b.admin("POST", path, json={})
        assert drained.status_code == 200 and drained.json()["draining"] is True
        # A new room's WHIP reaching the drained node goes to another.
        publisher = await publish(b.http, room["room_id"], room["host_token"], CounterTrack())
        try:
            assert await origin_node(b, room["room_id"]) == "node-a"
        finally:
            await publisher.close()
        undone = await a.admin("POST", path, json={"draining": False})
        assert undone.status_code == 200 and undone.json()["draining"] is False
        listed = (await a.admin("GET", "/api/nodes")).json()["nodes"]
        assert [n["draining"] for n in listed] == [False, False]


async def test_only_a_node_of_the_deployment_gets_through_the_node_path(
    redis_server: test_redis.TestRedis,
) -> None:
    """The path between nodes opens only to requests sealed with the nodes' secret: a
    host's or the admin's token, another deployment's secret, an altered or a replayed
    request are all refused, and nothing is done."""
    async with nodes(redis_server, names="a") as (a,):
        room = await a.new_room()
        room_id = room["room_id"]
        offer = await offer_sdp("video")
        for token in (room["host_token"], ADMIN_TOKEN):
            answer = await a.as_user(token, "POST", PATH, content=offer, headers=SDP_HEADERS)
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
        parts = a.parts
        ours = NodePeers(RequestSealer(b"not this deployment"), _registry(a), parts.clock)
        call = ours.new_call("whip", room_id, offer=offer)
        sealed = _sealed(ours, call)
        assert (await a.http.post(PATH, content=sealed)).status_code == 403
        assert (await a.http.post(PATH, content=b"\x00" * 200)).status_code == 403
        assert (await a.http.post(PATH, content=b"x" * 300_000)).status_code == 403
        assert await parts.redis.get(parts.keys.room_media_owner(room_id)) is None
        # The deployment's own sealing: taken once, refused when replayed.
        real = parts.media_router
        assert real is not None
        peers = real._peers
        call = peers.new_call("end", room_id, role="whep", session_id="v0001aaaaaaaaaaaa")
        sealed = _sealed(peers, call)
        first = await a.http.post(PATH, content=sealed)
        assert first.status_code == 200
        assert (await a.http.post(PATH, content=sealed)).status_code == 403
        altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        assert (await a.http.post(PATH, content=altered)).status_code == 403
        stale = NodeCall("end_room", room_id, parts.clock.now_ms() - 120_000)
        assert (await a.http.post(PATH, content=_sealed(peers, stale))).status_code == 403


def _registry(server: LiveServer) -> Any:
    router = server.parts.media_router
    assert router is not None
    return router._peers._registry


def _sealed(peers: NodePeers, call: NodeCall) -> bytes:
    return peers._sealer.seal(b"node media request", orjson.dumps(asdict(call)))[1]


@pytest.mark.parametrize("origin_timeout_s", ["2"])
async def test_a_dead_origin_process_ends_the_show_within_the_timeout(
    redis_server: test_redis.TestRedis, origin_timeout_s: str
) -> None:
    """A process that held a room's publisher and stopped beating (its machine died) is
    swept out by another node: the room says `live_ended` within `[media]
    origin_timeout_s`, and its host can publish again at once on any node."""
    env = {"LIVE_MEDIA_ORIGIN_TIMEOUT_S": origin_timeout_s}
    async with nodes(redis_server, names="ab", **env) as (a, b):
        room = await a.new_room()
        room_id, token = room["room_id"], room["host_token"]
        parts = a.parts
        dead = WorkerAddress(
            f"http://127.0.0.1:{free_port()}", ("127.0.0.1", free_port()), "node-gone", 1
        )
        lease = dead.encode()
        await parts.redis.set(parts.keys.room_media_owner(room_id), lease, px=60_000)
        await parts.rooms.set_live(room_id, True, parts.clock.now_ms())
        entry = ProcessEntry("node-gone", 1, "", lease, (room_id,), (room_id,))
        async with channel(b.ws_url, room_id) as client:
            snapshot = await client.of_type("snapshot")
            assert snapshot["room"]["live"] is True
            start = parts.clock.now_ms()
            await _registry(a).beat(entry, 60_000)  # its last heartbeat
            ended = await client.of_type("live_ended", within=float(origin_timeout_s) + 5)
            assert ended["ts"] - start <= float(origin_timeout_s) * 1000
        assert await parts.redis.get(parts.keys.room_media_owner(room_id)) is None
        again = await publish(b.http, room_id, token, CounterTrack())
        viewer = await watch(a.http, room_id)
        try:
            await viewer.wait_frames(5)
        finally:
            await viewer.close()
            await again.close()


def is_synthetic(data: bytes) -> bool:
    """One of CounterTrack's frames (not a real encoder's)."""
    return data == synthetic_frame(counter_of(data), is_keyframe("vp8", data))


@pytest.mark.browser
async def test_chromium_publishes_through_a_node_that_is_not_the_origin(
    redis_server: test_redis.TestRedis,
) -> None:
    """The studio's `fetch` with the host's token to node-c, while node-a holds the room:
    node-c proxies the offer to node-a (no redirect, so the token is never dropped or
    moved) and Chromium's video reaches a viewer on node-b."""
    playwright_api = pytest.importorskip("playwright.async_api")
    async with nodes(redis_server) as (a, b, c):
        room = await a.new_room()
        room_id, token = room["room_id"], room["host_token"]
        first = await publish(a.http, room_id, token, CounterTrack())
        viewer = await watch(b.http, room_id)
        playwright, browser = await launch(
            playwright_api, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"
        )
        try:
            await viewer.wait_frames(5)
            page = await browser.new_page()
            await page.goto(f"{c.base_url}/healthz")  # a secure context (loopback)
            url = f"{c.base_url}/api/rooms/{room_id}/whip"
            result: dict[str, Any] = await page.evaluate(PUBLISH, [url, token])
            assert result["status"] == 201, result
            assert result["location"].startswith(f"/api/rooms/{room_id}/whip/")
            assert await origin_node(c, room_id) == "node-a"
            seen = len(viewer.frames)
            await eventually(
                lambda: sum(not is_synthetic(f.data) for _, f in viewer.frames[seen:]) >= 30,
                within=30,
            )
            assert not hub_of(c).sessions
        finally:
            await browser.close()
            await playwright.stop()
            await viewer.close()
            await first.close()


# The medooze WHIP client (npm `whip-whep`, pinned in tools/whip-whep; `make test` installs it).
WHIP_JS = PROJECT_ROOT / "tools" / "whip-whep" / "node_modules" / "whip-whep" / "whip.js"

# A studio page (on another origin than the node it publishes to) publishing Chromium's
# camera with whip.js as its README shows: `new WHIPClient().publish(pc, url, token)`.
# whip.js posts the offer before ICE gathering and trickles its candidates by PATCH
# (answered 405 here, which it accepts), so the server meets its candidates as checks.
MEDOOZE_PUBLISH = """
async ([url, token]) => {
  const { WHIPClient } = await import('/whip.js');
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 320, height: 240}});
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  window.whip = new WHIPClient();
  await window.whip.publish(pc, url, token);
  return window.whip.resourceURL.href;
}
"""


async def serve_whip_js(route: Any) -> None:
    body = WHIP_JS.read_text(encoding="utf-8")
    await route.fulfill(body=body, content_type="text/javascript")


MEDOOZE_DELETE = """
async (token) => {
  const answer = await fetch(window.whip.resourceURL,
                             {method: 'DELETE', headers: {Authorization: 'Bearer ' + token}});
  return answer.status;
}
"""


def distinct_pictures(frames: list[bytes]) -> int:
    """How many different pictures the VP8 frames decode to, from the first keyframe on."""
    decoder = av.CodecContext.create("vp8", "r")
    start = next(i for i, data in enumerate(frames) if is_keyframe("vp8", data))
    pictures = set()
    for data in frames[start:]:
        for picture in decoder.decode(av.Packet(data)):
            plane = picture.planes[0]  # luma, each row padded to line_size
            luma, step = bytes(plane), plane.line_size
            rows = (luma[y * step : y * step + plane.width] for y in range(plane.height))
            pictures.add(hashlib.sha256(b"".join(rows)).digest())
    return len(pictures)


@pytest.mark.browser
async def test_the_medooze_whip_client_publishes_through_a_node_that_is_not_the_origin(
    redis_server: test_redis.TestRedis,
) -> None:
    """The medooze `whip-whep` client in Chromium publishes a new show to node-c, which is
    drained, so the room's origin is node-a: node-c proxies the offer, the show goes live
    for a viewer's page on node-b, whose video moves, and a DELETE of the resource URL the
    client made of node-c's `Location` ends the show at the origin; so does its `stop()`."""
    if not WHIP_JS.exists():
        pytest.fail(f"no whip.js at {WHIP_JS}: `make test` runs npm ci in tools/whip-whep")
    playwright_api = pytest.importorskip("playwright.async_api")
    async with nodes(redis_server) as (a, b, c):
        assert (await a.admin("POST", "/api/nodes/node-c/drain", json={})).status_code == 200
        room = await a.new_room()
        room_id, token = room["room_id"], room["host_token"]
        playwright, browser = await launch(
            playwright_api, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"
        )
        viewer: Peer | None = None
        try:
            async with channel(b.ws_url, room_id) as page_on_b:
                snapshot = await page_on_b.of_type("snapshot")
                assert snapshot["room"]["live"] is False
                page = await browser.new_page()
                # The studio's page comes from another origin than node-c (a page Chromium
                # got from loopback: a secure context), with whip.js beside it.
                await page.route(f"{b.base_url}/whip.js", serve_whip_js)
                await page.goto(f"{b.base_url}/healthz")
                url = f"{c.base_url}/api/rooms/{room_id}/whip"
                resource: str = await page.evaluate(MEDOOZE_PUBLISH, [url, token])
                assert resource.startswith(f"{c.base_url}/api/rooms/{room_id}/whip/")
                await page_on_b.of_type("live_started", within=20)
                assert await origin_node(b, room_id) == "node-a"
                assert not hub_of(c).sessions
                viewer = await watch(b.http, room_id)
                await viewer.wait_frames(45, within=30)
                assert distinct_pictures([f.data for _, f in viewer.frames]) >= 20
                # The DELETE whip.js's stop() sends (its resource URL, the host's token),
                # sent first: stop() closes the peer connection before its DELETE, and the
                # origin, seeing the publisher leave, may have ended the session already.
                deleted = await page.evaluate(MEDOOZE_DELETE, token)
                assert deleted == 200
                await page_on_b.of_type("live_ended", within=20)
                await eventually(lambda: not any(publishers(server) for server in (a, b, c)))
                await page.evaluate("() => window.whip.stop()")
                # The host goes live again, then presses stop: the show ends for the viewer.
                await page.evaluate(MEDOOZE_PUBLISH, [url, token])
                await page_on_b.of_type("live_started", within=20)
                async with page.expect_response(
                    lambda r: r.request.method == "DELETE" and r.url.startswith(url)
                ) as stopped:
                    await page.evaluate("() => window.whip.stop()")
                await page_on_b.of_type("live_ended", within=20)
                # 200 also when the origin saw the closed connection before the DELETE.
                assert (await stopped.value).status == 200
            assert (await b.http.get(f"/api/rooms/{room_id}")).json()["live"] is False
        finally:
            await browser.close()
            await playwright.stop()
            if viewer is not None:
                await viewer.close()


async def test_a_node_without_the_deployments_secret_says_so(
    redis_server: test_redis.TestRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Two nodes on one Redis with `[node] secret` unset cannot talk (each derives its own
    secret): the operator reads one warning naming the other node; with the secret set on
    both, none."""

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "[node] secret" in r.getMessage()]

    for secret in ("", "s" * 40):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="live.routing"):
            base = make_settings()
            running = []
            try:
                for name in ("x", "y"):
                    node = NodeSettings(id=f"node-{secret[:1]}{name}", secret=secret)
                    running.append(await start_server(base.replace(node=node), redis_server.url))
                if not secret:
                    await eventually(warnings)
                    assert len(warnings()) == 1
                    assert getattr(warnings()[0], "nodes", None) == ["node-x"]
                else:
                    # Both beat at start, before start_server returns: a warning would be in.
                    assert warnings() == []
            finally:
                for server, task, _, _ in reversed(running):
                    server.should_exit = True
                    await task
