"""Finding 2 (memory): floods of WHEP offers from one address against a real `live serve`
meet 429 past `[media] max_sessions_per_ip`, every session is reclaimed (no ICE socket
left), and the memory stays bounded by the cap, with no growth from one flood to the next.
What stays after a flood is the allocators' high-water mark, not objects (docs/security.md;
`tests/security/test_media_cleanup.py` counts the objects themselves)."""

from __future__ import annotations

import asyncio
import collections
import re
import socket
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.media.test_signalling import SDP_HEADERS, offer_sdp
from tests.serving import ADMIN, serve_env, spawn_serve, stop, wait_healthy_async

pytestmark = pytest.mark.slow
CAP = 30
FLOOD = 200
VIEWERS = re.compile(r'^live_media_sessions\{role="viewer"\} (\S+)$', re.MULTILINE)


async def _flood(http: httpx.AsyncClient, url: str, offer: str) -> collections.Counter[int]:
    gate = asyncio.Semaphore(20)

    async def one() -> int:
        async with gate:
            return (await http.post(url, content=offer, headers=SDP_HEADERS)).status_code

    return collections.Counter(await asyncio.gather(*(one() for _ in range(FLOOD))))


async def _viewer_sessions(http: httpx.AsyncClient) -> float:
    found = VIEWERS.search((await http.get("/metrics")).text)
    assert found is not None, "live_media_sessions is missing from /metrics"
    return float(found.group(1))


async def _reclaimed(http: httpx.AsyncClient) -> None:
    for _ in range(600):
        if not await _viewer_sessions(http):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the flood's sessions were never reclaimed")


def _udp_sockets(server: psutil.Process) -> int:
    return sum(c.type == socket.SOCK_DGRAM for c in server.net_connections("udp"))


async def _settled(server: psutil.Process, udp_before: int) -> int:
    """The server's RSS once its peer connections' sockets are closed and one memory-trim
    period (live.media.memory) has passed."""
    for _ in range(100):
        if _udp_sockets(server) <= udp_before:
            break
        await asyncio.sleep(0.1)
    assert _udp_sockets(server) <= udp_before, "ICE sockets outlived their sessions"
    await asyncio.sleep(6)  # memory is not an event: one trim period (5 s), then read it
    rss: int = server.memory_info().rss
    return rss


async def test_memory_comes_back_after_floods_of_offers(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"),
        LIVE_MEDIA_MAX_SESSIONS_PER_IP=str(CAP),
        # Longer than a flood takes to send: each flood peaks at exactly CAP sessions.
        LIVE_MEDIA_CONNECT_TIMEOUT_S="4",
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
            udp_before = _udp_sockets(server)
            # A few sessions first: lazily loaded codecs and DTLS belong to the start.
            for _ in range(3):
                await http.post(url, content=offer, headers=SDP_HEADERS)
            await _reclaimed(http)
            start = await _settled(server, udp_before)
            after: list[int] = []
            for _ in range(3):
                codes = await _flood(http, url, offer)
                assert codes[201] >= CAP and codes[429] >= FLOOD // 2, codes
                assert set(codes) == {201, 429}, codes
                await _reclaimed(http)
                after.append(await _settled(server, udp_before))
        figures = [round(m / 1e6, 1) for m in (start, *after)]
        # Bounded by the cap (about 0.4 MB per concurrent session, docs/security.md) ...
        assert max(after) <= start + CAP * 1_000_000, figures
        # ... and no growth from one flood to the next once that high-water mark is reached.
        assert after[2] <= after[1] * 1.10, figures
    finally:
        stop(process)
