"""Finding 2 (memory): after floods of WHEP offers and their clean-up, a real `live serve`
gives its memory back: no growth from one flood to the next (the first flood's rise is the
allocator's high-water mark, bounded by the session caps; docs/security.md)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.media.test_signalling import offer_sdp
from tests.serving import ADMIN, serve_env, spawn_serve, stop, wait_healthy_async

pytestmark = pytest.mark.slow
FLOOD = 150


async def _flood(http: httpx.AsyncClient, url: str, offer: str) -> set[int]:
    gate = asyncio.Semaphore(20)

    async def one() -> int:
        async with gate:
            answer = await http.post(
                url, content=offer, headers={"Content-Type": "application/sdp"}
            )
            return answer.status_code

    return set(await asyncio.gather(*(one() for _ in range(FLOOD))))


async def _no_sessions(http: httpx.AsyncClient) -> None:
    pattern = re.compile(r'^live_media_sessions\{role="viewer"\} (\S+)$', re.MULTILINE)
    for _ in range(600):
        found = pattern.search((await http.get("/metrics")).text)
        if found is None or float(found.group(1)) == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the flood's sessions were never reclaimed")


async def test_memory_comes_back_after_floods_of_offers(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"),
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",  # the flood comes from one address
        LIVE_MEDIA_CONNECT_TIMEOUT_S="1",
    )
    process = spawn_serve(port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_healthy_async(base)
        server = psutil.Process(process.pid)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            room = (
                await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN)
            ).json()
            url = f"/api/rooms/{room['room_id']}/whep"
            offer = await offer_sdp("video", "audio")
            after: list[int] = []
            for _ in range(3):
                assert await _flood(http, url, offer) == {201}
                await _no_sessions(http)
                await asyncio.sleep(6)  # one trim period (live.media.memory)
                after.append(server.memory_info().rss)
        assert after[2] <= after[0] * 1.10, [a / 1e6 for a in after]
    finally:
        stop(process)
