"""Two worker processes behind one port share rooms through Redis: every viewer sees the
same events in the same seq order, and the viewer count sums both processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from live.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, free_port
from tests.realtime.client import ChannelClient, channel

pytestmark = pytest.mark.slow
CLIENTS = 12
MESSAGES = 30


@pytest.fixture
def two_workers(redis_server: Any) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_REDIS_KEY_PREFIX": "w" + secrets.token_hex(4),
        "LIVE_LOGGING_FORMAT": "text",
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "live.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def http(two_workers: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://{two_workers}", timeout=10) as client:
        for _ in range(300):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        yield client


async def _collect_chats(client: ChannelClient, count: int) -> list[tuple[int, str]]:
    chats: list[tuple[int, str]] = []
    while len(chats) < count:
        event = await client.of_type("chat", within=30)
        chats.append((event["seq"], event["text"]))
    return chats


async def test_viewers_on_both_workers_see_one_order(
    two_workers: str, http: httpx.AsyncClient
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    room: dict[str, Any] = (
        await http.post("/api/rooms", json={"title": "Two", "host_name": "Lin"}, headers=admin)
    ).json()
    viewer = (await http.post("/api/sessions", json={"name": "Mei"})).json()
    ws_url = f"ws://{two_workers}"
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(channel(ws_url, room["room_id"]))
            for _ in range(CLIENTS)
        ]
        host = await stack.enter_async_context(channel(ws_url, room["room_id"], room["host_token"]))
        mei = await stack.enter_async_context(channel(ws_url, room["room_id"], viewer["token"]))
        nodes = set()
        for client in [*clients, host, mei]:
            snapshot = await client.next(within=30)
            nodes.add(snapshot["node"])
        deadline = asyncio.get_running_loop().time() + 60
        while len(nodes) < 2 and asyncio.get_running_loop().time() < deadline:
            # The kernel spreads connections over the workers; make sure both have some.
            # /healthz answers as soon as one worker is up: on a loaded machine the other
            # may still be starting, so keep connecting for a while.
            await asyncio.sleep(0.2)
            clients.append(await stack.enter_async_context(channel(ws_url, room["room_id"])))
            nodes.add((await clients[-1].next(within=30))["node"])
        assert len(nodes) == 2
        for n in range(MESSAGES):
            # The viewer sends 5 messages: within the per-user chat rate limit.
            sender = mei if n % 6 == 0 else host
            await sender.send({"type": "chat", "text": f"m{n}"})
        seen = await asyncio.gather(*(_collect_chats(c, MESSAGES) for c in [*clients, host]))
        first = seen[0]
        assert [seq for seq, _ in first] == list(range(first[0][0], first[0][0] + MESSAGES))
        assert all(s == first for s in seen)
        # Presence sums both processes (the host is not a viewer).
        viewers = None
        for _ in range(100):  # each process reports its count within a tick or two
            viewers = (await http.get(f"/api/rooms/{room['room_id']}")).json()["viewers"]
            if viewers == len(clients) + 1:
                break
            await asyncio.sleep(0.1)
        assert viewers == len(clients) + 1
