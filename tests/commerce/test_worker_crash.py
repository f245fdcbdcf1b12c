"""kill -9 of a worker process in the middle of a burst of buys: no accepted order is lost,
nothing is oversold, and retried keys get their order."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live.auth import Identity, Role, TokenSigner
from live.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.redis_server import TestRedis as RedisProcess

pytestmark = pytest.mark.slow
ADMIN = secrets.token_urlsafe(32)
SECRET = "crash-secret-" + secrets.token_hex(8)


@pytest.fixture
def two_workers(redis_server: RedisProcess) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_ADMIN_TOKEN": ADMIN,
        "LIVE_AUTH_SECRET": SECRET,
        "LIVE_REDIS_KEY_PREFIX": "crash" + secrets.token_hex(3),
        "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_COMMERCE_LOG_CLAIM_IDLE_MS": "1000",
    }
    serve = ["serve", "--port", str(port), "--workers", "2"]
    command = [sys.executable, "-c", "from live.cli import main; main()", *serve]
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while len(worker_pids(process.pid)) < 2 or not healthy(base):
        assert time.monotonic() < deadline, "live serve did not start"
        time.sleep(0.2)
    yield base, process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def wait_readable(fd: int) -> None:
    """Return when `fd` is readable (a pidfd: when its process has exited)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(fd, ready.set_result, None)
    try:
        async with asyncio.timeout(30):
            await ready
    finally:
        loop.remove_reader(fd)


async def until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Poll a blocking `condition` (off the event loop) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await asyncio.to_thread(condition):
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def replaced(parent: int, victim: int) -> bool:
    """`live serve` has its two workers again, none of them `victim`."""
    pids = worker_pids(parent)
    return len(pids) == 2 and victim not in pids


def worker_pids(parent: int) -> list[int]:
    """The uvicorn worker processes under `live serve`."""
    pids = []
    for task in Path(f"/proc/{parent}/task").glob("*"):
        children = (task / "children").read_text().split()
        for pid in map(int, children):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                pids.append(pid)
    return pids


async def test_kill_9_of_a_worker_during_a_burst(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, process = two_workers
    admin = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=30) as http:
        sku = "crash-" + secrets.token_hex(3)
        product = {"sku": sku, "title": "Mug", "price_cents": 100, "currency": "EUR"}
        assert (await http.post("/api/products", json=product)).status_code == 201
        room = (await http.post("/api/rooms", json={"title": "Crash", "host_name": "C"})).json()
        lineup = await http.post(f"/api/rooms/{room['room_id']}/products", json={"sku": sku})
        assert lineup.status_code == 201
        body = {
            "sku": sku,
            "stock": 200,
            "price_cents": 100,
            "per_buyer_limit": 1,
            "hold_s": 600,
            "duration_s": 600,
        }
        sale = (await http.post(f"/api/rooms/{room['room_id']}/sales", json=body)).json()

    signer = TokenSigner(SECRET.encode(), None)
    tokens = [
        signer.issue(Identity(Role.VIEWER, f"u_c{n}", "c"), ttl_s=600, now=time.time())
        for n in range(400)
    ]
    answered: list[int] = []
    hundred_answered = asyncio.Event()
    # Set once the killed worker is gone and `live serve` has a worker in its place that
    # answers: a buy cut off by the kill retries its key then, never after a guessed delay.
    recovered = asyncio.Event()
    killed: list[int] = []
    # No keep-alive: connections spread over both workers, so the kill hits requests in flight.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:

        async def buy(token: str, key: str) -> tuple[int, dict[str, Any]]:
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                assert asyncio.get_running_loop().time() < deadline, f"no answer for {key}"
                try:
                    answer = await http.post(
                        f"/api/sales/{sale['sale_id']}/orders",
                        json={"qty": 1},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    answer = None
                if answer is None or answer.status_code == 503:
                    # The worker died under us (or Redis work it held was cut): the same key
                    # again, once the server is whole.
                    if killed:
                        await recovered.wait()
                    continue
                answered.append(answer.status_code)
                if len(answered) >= 100:
                    hundred_answered.set()
                return answer.status_code, answer.json()

        async def kill_one_worker() -> int:
            """Kill a worker mid-burst; the buys still unanswered when it died."""
            await hundred_answered.wait()
            victim = worker_pids(process.pid)[0]
            pidfd = os.pidfd_open(victim)
            try:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                outstanding = len(tokens) - len(answered)
                await wait_readable(pidfd)  # the kernel says the process has exited
            finally:
                os.close(pidfd)
            await until(lambda: replaced(process.pid, victim) and healthy(base))
            recovered.set()
            return outstanding

        killer = asyncio.create_task(kill_one_worker())
        results = await asyncio.gather(*(buy(t, f"key-{n}") for n, t in enumerate(tokens)))
        outstanding_at_kill = await killer
        # The kill landed in the middle of the burst, and a new worker took the dead one's place.
        assert 0 < outstanding_at_kill < len(tokens)
        assert replaced(process.pid, killed[0])

        orders = {body["order_id"]: body for status, body in results if status in (200, 201)}
        assert {status for status, _ in results} <= {200, 201, 409}
        assert len(orders) == 200, "exactly the stock, one order per buyer"
        sale_now = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
        assert (sale_now["left"], sale_now["held"]) == (0, 200)
        for order_id in list(orders)[:50]:
            again = await http.get(f"/api/orders/{order_id}", headers=admin)
            assert again.status_code == 200 and again.json()["status"] == "held"

        async def recorded() -> set[str]:
            export = await http.get(
                f"/api/rooms/{room['room_id']}/orders/export?format=jsonl", headers=admin
            )
            return {line.split('"order_id":"')[1].split('"')[0] for line in export.text.split()}

        deadline = time.monotonic() + 30
        while await recorded() != set(orders):
            assert time.monotonic() < deadline, "the order record misses accepted orders"
            await asyncio.sleep(0.3)
