"""One room over three real nodes on a real Redis Cluster: three `live serve` processes on
loopback (node-b with two workers), each with its own port, media UDP range and relay link
range, sharing the cluster and the key prefix as a deployment does.

The last test kills nodes: it stays last in this module."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.media.peers import CounterTrack, Peer, publish, watch
from tests.media.test_relay import eventually
from tests.media.test_workers import keeps_playing, republish, watch_on, worker_of
from tests.realtime.client import ChannelClient, channel
from tests.redis_cluster import TestRedisCluster
from tests.serving import ADMIN, new_buyers, open_sale, serve_env, spawn_serve, stop
from tests.serving import wait_healthy_async as healthy

ORIGIN_TIMEOUT_S = 5.0
WORKERS = {"a": 1, "b": 2, "c": 1}


@dataclass
class Node:
    node_id: str
    base: str
    ws: str
    process: subprocess.Popen[bytes]
    http: httpx.AsyncClient

    def kill(self) -> None:
        """kill -9 of the whole node: `live serve` and its workers, none of them warned (the
        supervisor is stopped first, so it neither restarts a worker nor lets them know)."""
        supervisor = psutil.Process(self.process.pid)
        supervisor.send_signal(signal.SIGSTOP)
        for worker in supervisor.children(recursive=True):
            worker.send_signal(signal.SIGKILL)
        supervisor.send_signal(signal.SIGKILL)
        self.process.wait(10)


def port_ranges(count: int, size: int = 200) -> list[tuple[int, int]]:
    """Disjoint UDP ranges, one per node (a busy port is skipped within its range)."""
    start = random.randrange(20000, 50000 - count * size)
    return [(start + i * size, start + (i + 1) * size - 1) for i in range(count)]


@pytest.fixture(scope="module")
async def three_nodes(redis_cluster: TestRedisCluster) -> AsyncIterator[dict[str, Node]]:
    redis_cluster.wait_ready()
    prefix = "n" + secrets.token_hex(4)
    # One deployment of several nodes sets one `[node] secret` on each (docs/operations.md).
    node_secret = secrets.token_urlsafe(32)
    ranges = iter(port_ranges(2 * len(WORKERS)))
    nodes: dict[str, Node] = {}
    try:
        for name, workers in WORKERS.items():
            port = free_port()
            media, relay = next(ranges), next(ranges)
            env = serve_env(
                LIVE_REDIS_URL=redis_cluster.url,
                LIVE_REDIS_MODE="cluster",
                LIVE_REDIS_KEY_PREFIX=prefix,
                LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
                LIVE_LOGGING_LEVEL="warning",
                LIVE_MEDIA_WORKER_HEADERS="true",
                LIVE_MEDIA_ORIGIN_TIMEOUT_S=str(ORIGIN_TIMEOUT_S),
                LIVE_MEDIA_UDP_PORT_MIN=str(media[0]),
                LIVE_MEDIA_UDP_PORT_MAX=str(media[1]),
                LIVE_NODE_ID=f"node-{name}",
                LIVE_NODE_ADVERTISE_URL=f"http://127.0.0.1:{port}",
                LIVE_NODE_RELAY_PORT_MIN=str(relay[0]),
                LIVE_NODE_RELAY_PORT_MAX=str(relay[1]),
                LIVE_NODE_SECRET=node_secret,
            )
            process = spawn_serve(port, env, workers=workers)
            base = f"http://127.0.0.1:{port}"
            http = httpx.AsyncClient(base_url=base, timeout=20)
            nodes[name] = Node(f"node-{name}", base, f"ws://127.0.0.1:{port}", process, http)
        await asyncio.gather(*(healthy(n.base, timeout_s=90) for n in nodes.values()))
        yield nodes
    finally:
        for node in nodes.values():
            await node.http.aclose()
            stop(node.process)


async def media_of(node: Node, room_id: str) -> dict[str, Any]:
    answer = await node.http.get(f"/api/rooms/{room_id}/media", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def new_room(node: Node) -> dict[str, Any]:
    answer = await node.http.post(
        "/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN
    )
    assert answer.status_code == 201, answer.text
    room: dict[str, Any] = answer.json()
    return room


async def node_links(node: Node, direction: str) -> float:
    """`live_node_relay_links` of the node summed over its workers (fresh connection)."""
    async with httpx.AsyncClient(base_url=node.base, timeout=15) as fresh:
        text = (await fresh.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("live_node_relay_links{") and f'direction="{direction}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def said(text: str, event: dict[str, Any]) -> bool:
    return bool(event.get("text") == text)


def in_order(peer: Peer) -> bool:
    counters = peer.counters
    return counters == list(range(counters[0], counters[0] + len(counters)))


def contiguous(client: ChannelClient) -> list[int]:
    """The durable seqs a channel client saw after its snapshot; asserts no gap."""
    seqs = [e["seq"] for e in client.seen if e["type"] != "snapshot" and "seq" in e]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    return seqs


async def chats(client: ChannelClient, texts: set[str], within: float = 20) -> None:
    left = set(texts)
    while left:
        event = await client.of_type("chat", within)
        left.discard(event["text"])


async def test_one_room_over_three_nodes(three_nodes: dict[str, Node]) -> None:
    """A publisher on node-a; viewers on node-b (on both its workers) and node-c receive
    its frames in order; node-b pulls the room from node-a once; the host's chat on
    node-c reaches viewers on node-a and node-b with contiguous seqs; buys through node-a
    and node-b keep the sale's invariant."""
    a, b, c = three_nodes["a"], three_nodes["b"], three_nodes["c"]
    room = await new_room(a)
    room_id, token = room["room_id"], room["host_token"]
    publisher = await publish(a.http, room_id, token, CounterTrack())
    peers = [publisher]
    try:
        origin = await media_of(c, room_id)
        assert origin["origin"]["node_id"] == "node-a"
        on_b = await watch_on(b.base, room_id, lambda pid: True)
        peers.append(on_b)
        first_b = worker_of(on_b)
        peers.append(await watch_on(b.base, room_id, lambda pid: pid != first_b))
        peers.append(await watch(c.http, room_id))
        for viewer in peers[1:]:
            await viewer.wait_frames(15, within=40)
            assert in_order(viewer)

        async def spread() -> bool:
            body = await media_of(a, room_id)
            rows = {(p["node_id"], p["viewers"]) for p in body["by_process"]}
            pids = {p["pid"] for p in body["by_process"] if p["node_id"] == "node-b"}
            return rows == {("node-b", 1), ("node-c", 1)} and len(pids) == 2

        await eventually(spread, within=20)
        relays = {r["node_id"]: r["parent"] for r in (await media_of(b, room_id))["relays"]}
        assert relays == {"node-b": "node-a", "node-c": "node-a"}
        # Each node pulls once: node-a feeds two nodes, whatever node-b's workers.
        await eventually(lambda: _equals(node_links(a, "down"), 2.0), within=20)
        assert await node_links(b, "up") == 1.0

        viewer_token = (await a.http.post("/api/sessions", json={"name": "v"})).json()["token"]
        async with (
            channel(a.ws, room_id, viewer_token) as on_a,
            channel(b.ws, room_id) as on_b_channel,
            channel(c.ws, room_id, token) as host,
        ):
            for client in (on_a, on_b_channel, host):
                await client.of_type("snapshot")
            texts = {f"from node-c {i}" for i in range(5)}
            for text in sorted(texts):
                await host.send({"type": "chat", "text": text})
            for client in (on_a, on_b_channel):
                await chats(client, texts)
                assert len(contiguous(client)) >= 5
        await buys_through_two_nodes(a, b)
    finally:
        for peer in peers:
            await peer.close()


async def _equals(value: Any, expected: float) -> bool:
    return bool(await value == expected)


async def buys_through_two_nodes(a: Node, b: Node) -> None:
    _, sale = await open_sale(a.http, stock=10, per_buyer_limit=1)
    tokens = await new_buyers(a.http, 16)
    path = f"/api/sales/{sale['sale_id']}/orders"

    async def buy(http: httpx.AsyncClient, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(8)}
        return await http.post(path, json={"qty": 1}, headers=headers)

    answers = await asyncio.gather(
        *(buy((a if n % 2 else b).http, token) for n, token in enumerate(tokens))
    )
    assert sorted(r.status_code for r in answers) == [201] * 10 + [409] * 6
    state = (await b.http.get(f"/api/sales/{sale['sale_id']}")).json()
    assert state["stock"] == state["left"] + state["held"] + state["sold"] == 10
    assert state["held"] == 10


async def test_nodes_are_listed(three_nodes: dict[str, Node]) -> None:
    a = three_nodes["a"]

    async def all_listed() -> bool:
        listed = (await a.http.get("/api/nodes", headers=ADMIN)).json()["nodes"]
        shape = {(n["node_id"], n["url"], n["workers"]) for n in listed}
        wanted = {(n.node_id, n.base, WORKERS[k]) for k, n in three_nodes.items()}
        return shape == wanted

    await eventually(all_listed, within=20)


@pytest.mark.slow
async def test_killed_nodes(three_nodes: dict[str, Node]) -> None:
    """kill -9 of a node serving viewers: its channel clients resume on another node with
    `since` and miss nothing, its WHEP viewer re-offers to another node and plays. kill -9
    of the origin's node: `live_ended` within `[media] origin_timeout_s`, the host
    republishes on another node, and the viewers there play again on the sessions they
    had."""
    room = await new_room(three_nodes["a"])
    room_id, token = room["room_id"], room["host_token"]
    publisher = await publish(three_nodes["a"].http, room_id, token, CounterTrack())
    peers = [publisher]
    try:
        # Wherever the registry placed the origin, one other node dies first, then it.
        origin_id = (await media_of(three_nodes["a"], room_id))["origin"]["node_id"]
        origin = next(n for n in three_nodes.values() if n.node_id == origin_id)
        edge, survivor = [n for n in three_nodes.values() if n is not origin]
        on_survivor = await watch(survivor.http, room_id)
        on_edge = await watch(edge.http, room_id)
        peers += [on_survivor, on_edge]
        for viewer in (on_survivor, on_edge):
            await viewer.wait_frames(10, within=40)
        async with (
            channel(survivor.ws, room_id, token) as host,
            channel(edge.ws, room_id) as doomed,
        ):
            snapshot = await doomed.of_type("snapshot")
            await host.of_type("snapshot")
            await host.send({"type": "chat", "text": "before"})
            seen = await doomed.until(lambda e: e.get("text") == "before")
            edge.kill()
            for text in (f"while away {i}" for i in range(3)):
                await host.send({"type": "chat", "text": text})
                await host.until(functools.partial(said, text))
        # The dead node's client resumes on another node from the last seq it saw.
        resume = channel(origin.ws, room_id, since=seen["seq"], epoch=snapshot["epoch"])
        async with resume as back:
            assert (await back.of_type("snapshot"))["recovered"] is True
            await chats(back, {f"while away {i}" for i in range(3)})
            assert contiguous(back)[0] == seen["seq"] + 1
        # Its WHEP viewer re-offers to another node and plays.
        again_viewer = await watch(survivor.http, room_id)
        peers.append(again_viewer)
        await again_viewer.wait_frames(10, within=30)

        async with channel(survivor.ws, room_id) as watcher:
            await watcher.of_type("snapshot")
            killed_at = time.monotonic()
            origin.kill()
            await watcher.of_type("live_ended", within=ORIGIN_TIMEOUT_S + 10)
            took = time.monotonic() - killed_at
        assert took <= ORIGIN_TIMEOUT_S, f"live_ended {took:.1f} s after the origin died"
        again = await republish(survivor.base, room_id, token, CounterTrack(first=100_000))
        peers.append(again)
        assert (await media_of(survivor, room_id))["origin"]["node_id"] == survivor.node_id
        for viewer in (on_survivor, again_viewer):
            seen_frames = len(viewer.frames)
            await eventually(
                lambda v=viewer, n=seen_frames: any(x >= 100_000 for x in v.counters[n:]),
                within=30,
            )
            assert viewer.pc.connectionState == "connected"
            await keeps_playing(viewer, 30)
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()
