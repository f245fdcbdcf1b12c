"""SIGTERM: the server stops taking connections, tells websocket clients to come back
(1012, service restart), stops its embedded Redis and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import free_port
from tests.realtime.client import channel
from tests.serving import ADMIN, serve_env, spawn_serve_async

pytestmark = pytest.mark.slow


async def test_sigterm_closes_websockets_with_1012(tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(LIVE_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"), LIVE_LOGGING_LEVEL="warning")
    process = await spawn_serve_async(port, env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            room = (
                await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN)
            ).json()
        async with channel(f"ws://127.0.0.1:{port}", room["room_id"]) as viewer:
            assert (await viewer.next())["type"] == "snapshot"
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await asyncio.wait_for(viewer.ws.recv(), 20)
            assert viewer.ws.close_code == 1012
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
