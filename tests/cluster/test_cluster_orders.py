"""Orders on a real Redis Cluster with `durability = "replicated"`: buys through two
`live serve` processes keep the sale's invariant, a stalled replica turns buys on its shard
into 503 `not_replicated` (and the same keys answer the same orders once it runs again), and
a primary killed during a burst loses no order that was answered."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, free_port
from tests.realtime.client import channel
from tests.redis_cluster import TestRedisCluster
from tests.serving import (
    ADMIN,
    new_buyers,
    open_sale,
    serve_env,
    spawn_serve,
    stop,
    wait_healthy_async,
)

Buy = Callable[[str, str], Awaitable[httpx.Response]]


@pytest.fixture
async def two_serves(redis_cluster: TestRedisCluster) -> AsyncIterator[list[str]]:
    """Two `live serve` processes on the cluster, sharing one key prefix."""
    redis_cluster.wait_ready()
    env = serve_env(
        LIVE_REDIS_URL=redis_cluster.url,
        LIVE_REDIS_MODE="cluster",
        LIVE_REDIS_KEY_PREFIX="c" + secrets.token_hex(4),
        LIVE_COMMERCE_DURABILITY="replicated",
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="error",
    )
    ports = [free_port(), free_port()]
    processes = [spawn_serve(port, env) for port in ports]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(wait_healthy_async(base) for base in bases))
        yield bases
    finally:
        for process in processes:
            stop(process)


def _sale_state_ok(state: dict[str, int]) -> bool:
    return state["stock"] == state["left"] + state["held"] + state["sold"]


async def test_buys_through_two_servers_keep_the_invariant(two_serves: list[str]) -> None:
    first, second = two_serves
    async with (
        httpx.AsyncClient(base_url=first, timeout=20) as a,
        httpx.AsyncClient(base_url=second, timeout=20) as b,
    ):
        _, sale = await open_sale(a, stock=30, per_buyer_limit=1)
        tokens = await new_buyers(a, 50)
        path = f"/api/sales/{sale['sale_id']}/orders"

        async def buy(http: httpx.AsyncClient, token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(8)}
            return await http.post(path, json={"qty": 1}, headers=headers)

        answers = await asyncio.gather(
            *(buy(a if n % 2 else b, token) for n, token in enumerate(tokens))
        )
        created = [r.json()["order_id"] for r in answers if r.status_code == 201]
        refused = [r.json()["error"]["code"] for r in answers if r.status_code != 201]
        assert len(created) == 30 and set(refused) == {"sold_out"}
        state = (await b.get(f"/api/sales/{sale['sale_id']}")).json()
        assert _sale_state_ok(state) and state["held"] == 30 and state["left"] == 0
        for order_id in created:
            assert (await b.get(f"/api/orders/{order_id}", headers=ADMIN)).status_code == 200


async def test_a_stalled_replica_answers_not_replicated_then_the_same_orders(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer
) -> None:
    http = cluster_server.http
    room, sale = await open_sale(http, stock=20, per_buyer_limit=1)
    keys = cluster_server.parts.keys
    primary = redis_cluster.primary_of(keys.sale(room["room_id"], sale["sale_id"]))
    replica = redis_cluster.replica_of(primary)
    tokens = await new_buyers(http, 5)
    path = f"/api/sales/{sale['sale_id']}/orders"
    idempotency = {token: secrets.token_hex(8) for token in tokens}

    async def buy(token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": idempotency[token]}
        return await http.post(path, json={"qty": 1}, headers=headers)

    assert (await buy(tokens[0])).status_code == 201  # replicated while the replica runs
    first_order = (await buy(tokens[0])).json()["order_id"]
    redis_cluster.pause(replica)
    try:
        started = time.monotonic()
        stalled = await asyncio.gather(*(buy(t) for t in tokens[1:]))
        elapsed = time.monotonic() - started
        # Every primary answers: the server stays healthy while one replica lags.
        assert (await http.get("/healthz")).status_code == 200
    finally:
        redis_cluster.resume(replica)
    wait_s = cluster_server.parts.settings.commerce.replica_wait_ms / 1000
    assert [r.status_code for r in stalled] == [503] * 4
    assert {r.json()["error"]["code"] for r in stalled} == {"not_replicated"}
    assert elapsed < wait_s + 1.0, f"answered after {elapsed:.2f}s"
    # The orders exist on the primary: once the replica has them, the same keys answer them.
    orders: dict[str, str] = {}
    deadline = time.monotonic() + 15
    while len(orders) < 4 and time.monotonic() < deadline:
        for token in tokens[1:]:
            if token not in orders:
                answer = await buy(token)
                if answer.status_code == 200:
                    orders[token] = answer.json()["order_id"]
                else:
                    assert answer.json()["error"]["code"] == "not_replicated", answer.text
    assert len(orders) == 4
    replay = await buy(tokens[0])
    assert replay.status_code == 200 and replay.json()["order_id"] == first_order
    state = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
    assert _sale_state_ok(state) and state["held"] == 5
    redis_cluster.wait_ready()


@pytest.mark.slow
async def test_no_answered_order_is_lost_when_a_primary_dies_in_a_burst(
    redis_cluster: TestRedisCluster, cluster_server: LiveServer
) -> None:
    http = cluster_server.http
    units, buyers = 60, 150
    room, sale = await open_sale(http, stock=units, per_buyer_limit=1, hold_s=300)
    keys = cluster_server.parts.keys
    victim = redis_cluster.primary_of(keys.sale(room["room_id"], sale["sale_id"]))
    tokens = await new_buyers(http, buyers)
    async with channel(cluster_server.ws_url, room["room_id"]) as viewer:
        before = await viewer.next()
    path = f"/api/sales/{sale['sale_id']}/orders"
    accepted: dict[str, str] = {}
    refused: dict[str, int] = {}
    first_answer = asyncio.Event()

    async def buy(token: str) -> None:
        key = secrets.token_hex(8)
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        for _ in range(600):
            answer = await http.post(path, json={"qty": 1}, headers=headers)
            first_answer.set()
            if answer.status_code in (200, 201):
                accepted[key] = answer.json()["order_id"]
                return
            if answer.status_code == 409:
                return
            # The shard failing over: 503 `unavailable` or `not_replicated`; same key again.
            assert answer.status_code == 503, answer.text
            code = answer.json()["error"]["code"]
            refused[code] = refused.get(code, 0) + 1
            await asyncio.sleep(0.05)
        raise AssertionError("a buyer never got an answer")

    async def kill_primary() -> None:
        await first_answer.wait()
        redis_cluster.kill(victim)
        # Its replica takes over; until the old primary is back as the new primary's
        # replica, the shard answers 503 `not_replicated`.
        await asyncio.to_thread(wait_promoted, redis_cluster, sale_key, victim)
        redis_cluster.restart(victim)  # in this thread: the node dies with its parent thread

    sale_key = keys.sale(room["room_id"], sale["sale_id"])
    await asyncio.gather(kill_primary(), *(buy(t) for t in tokens))
    # The promoted replica had no replica of its own until the old primary rejoined.
    assert refused.get("not_replicated", 0) > 0, refused
    await asyncio.to_thread(redis_cluster.wait_ready)
    assert victim not in redis_cluster.primaries()
    state = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
    for order_id in accepted.values():
        found = await http.get(f"/api/orders/{order_id}", headers=ADMIN)
        assert found.status_code == 200, f"order {order_id} answered 2xx was lost"
    assert len(set(accepted.values())) == len(accepted)
    assert _sale_state_ok(state)
    assert state["held"] + state["sold"] == len(accepted) == units
    await _channel_resumes_or_starts_a_new_epoch(cluster_server, room, before)


async def _channel_resumes_or_starts_a_new_epoch(
    server: LiveServer, room: dict[str, Any], before: dict[str, Any]
) -> None:
    """After the failover a client resuming from before it sees every event since, or is
    told `recovered: false` with a new epoch (the new primary may lack the last events)."""
    since = {"since": before["seq"], "epoch": before["epoch"]}
    async with channel(server.ws_url, room["room_id"], room["host_token"], **since) as back:
        snapshot = await back.next()
        if snapshot["recovered"]:
            assert snapshot["epoch"] == before["epoch"]
            missed = [await back.next() for _ in range(snapshot["seq"] - before["seq"])]
            assert [e["seq"] for e in missed] == list(range(before["seq"] + 1, snapshot["seq"] + 1))
        else:
            assert snapshot["epoch"] != before["epoch"]
        await back.send({"type": "chat", "text": "still here"})
        chat = await back.until(lambda e: e.get("text") == "still here")
        assert chat["seq"] == snapshot["seq"] + 1


def wait_promoted(cluster: TestRedisCluster, key: str, old_primary: int) -> None:
    """Until the cluster is ok with another primary owning `key`'s slot."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(AssertionError):
            if cluster.primary_of(key) != old_primary:
                return
        time.sleep(0.1)
    raise AssertionError("the replica was never promoted")
