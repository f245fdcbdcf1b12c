"""kill -9 of one worker of `live serve --workers 2` in the middle of a chat storm and of a
flash-sale burst: clients resume with `since` and see no gap; no accepted order is lost."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import psutil
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import free_port
from tests.realtime.client import channel
from tests.redis_server import TestRedis
from tests.serving import (
    ADMIN,
    new_buyers,
    open_sale,
    serve_env,
    spawn_serve,
    stop,
    wait_healthy_async,
)

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    base: str
    ws: str
    process: subprocess.Popen[bytes]

    def kill_one_worker(self) -> int:
        """kill -9 the worker holding the most client connections (the kernel need not
        spread them evenly, so a random pick could cut nobody off)."""
        workers = [
            p
            for p in psutil.Process(self.process.pid).children()
            if "spawn_main" in " ".join(p.cmdline())
        ]
        victim = max(
            workers,
            key=lambda p: sum(
                c.status == psutil.CONN_ESTABLISHED for c in p.net_connections(kind="tcp")
            ),
        )
        victim.send_signal(signal.SIGKILL)
        return victim.pid


@pytest.fixture
async def cluster(redis_server: TestRedis) -> AsyncIterator[Cluster]:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_URL=redis_server.url,
        LIVE_REDIS_KEY_PREFIX="k" + secrets.token_hex(4),
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="error",
    )
    process = spawn_serve(port, env, workers=2)
    base = f"http://127.0.0.1:{port}"
    await wait_healthy_async(base)
    # Both workers must be up before one is killed.
    for _ in range(100):
        children = psutil.Process(process.pid).children()
        if sum("spawn_main" in " ".join(p.cmdline()) for p in children) >= 2:
            break
        await asyncio.sleep(0.1)
    yield Cluster(base, f"ws://127.0.0.1:{port}", process)
    stop(process)


@dataclass
class Watcher:
    """A viewer that reconnects with since/epoch and records every durable seq it sees."""

    seqs: list[int] = field(default_factory=list)
    reconnects: int = 0
    first_node: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    recovered: list[bool] = field(default_factory=list)

    async def watch(self, ws_url: str, room_id: str, stop: asyncio.Event) -> None:
        since: int | None = None
        epoch: str | None = None
        while not stop.is_set():
            try:
                async with channel(ws_url, room_id, since=since, epoch=epoch) as client:
                    snapshot = await client.next(within=30)
                    assert snapshot["type"] == "snapshot"
                    epoch = snapshot["epoch"]
                    if not self.first_node.done():
                        self.first_node.set_result(snapshot["node"])
                    if since is not None:
                        self.recovered.append(snapshot["recovered"])
                    else:
                        since = snapshot["seq"]
                    while not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            event = await client.next(within=0.5)
                            if "seq" in event:
                                self.seqs.append(event["seq"])
                                since = event["seq"]
            except (ConnectionClosed, OSError, InvalidStatus, TimeoutError):
                self.reconnects += 1
                await asyncio.sleep(0.2 + secrets.randbelow(300) / 1000)


async def test_chat_storm_survives_a_killed_worker(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.base, timeout=10) as http:
        room = (
            await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN)
        ).json()
    stop = asyncio.Event()
    watchers = [Watcher() for _ in range(16)]
    tasks = [asyncio.create_task(w.watch(cluster.ws, room["room_id"], stop)) for w in watchers]
    await asyncio.sleep(2)
    sent = 0
    killed = False
    while sent < 120:
        try:
            async with channel(cluster.ws, room["room_id"], room["host_token"]) as host:
                await host.next(within=30)
                while sent < 120:
                    await host.send({"type": "chat", "text": f"m{sent}"})
                    sent += 1
                    if sent == 40 and not killed:
                        cluster.kill_one_worker()
                        killed = True
                    await asyncio.sleep(0.02)
        except (ConnectionClosed, OSError, InvalidStatus):
            await asyncio.sleep(0.2)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks)
    assert killed
    assert sum(w.reconnects for w in watchers) > 0, "some viewers should have been cut off"
    for watcher in watchers:
        assert watcher.seqs, "every viewer saw chat"
        # No gap and no duplicate: exactly one of each seq, in order, across reconnects.
        assert watcher.seqs == list(range(watcher.seqs[0], watcher.seqs[-1] + 1))
        assert all(watcher.recovered)
    last = max(w.seqs[-1] for w in watchers)
    assert all(w.seqs[-1] == last for w in watchers)


async def test_flash_sale_burst_loses_no_accepted_order(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.base, timeout=20) as admin:
        _, sale = await open_sale(admin, stock=60)
        buyers = await new_buyers(admin, 150)

    accepted: dict[str, str] = {}  # idempotency key -> order id
    started = asyncio.Event()

    async def buy(token: str, http: httpx.AsyncClient) -> None:
        key = secrets.token_hex(8)
        for _attempt in range(20):
            started.set()
            try:
                answer = await http.post(
                    f"/api/sales/{sale['sale_id']}/orders",
                    json={"qty": 1},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                )
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if answer.status_code in (200, 201):
                accepted[key] = answer.json()["order_id"]
                return
            if answer.status_code == 409:
                return
            assert answer.status_code in (429, 503), answer.text
            await asyncio.sleep(0.1)
        raise AssertionError("a buyer never got an answer")

    async def kill_soon() -> None:
        await started.wait()
        await asyncio.sleep(0.05)
        cluster.kill_one_worker()

    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=cluster.base, timeout=20, limits=limits) as http:
        await asyncio.gather(kill_soon(), *(buy(t, http) for t in buyers))
        state = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
        for order_id in set(accepted.values()):
            found = await http.get(f"/api/orders/{order_id}", headers=ADMIN)
            assert found.status_code == 200, f"accepted order {order_id} was lost"
    assert len(set(accepted.values())) == len(accepted), "one order per key"
    assert state["stock"] == state["left"] + state["held"] + state["sold"]
    assert state["held"] + state["sold"] == len(accepted)
    assert len(accepted) == 60, "every unit was sold exactly once"
