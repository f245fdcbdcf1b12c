"""SIGTERM: the server stops taking connections, tells websocket clients to come back
(1012, service restart), stops its embedded Redis and exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from live.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, free_port
from tests.realtime.client import channel

pytestmark = pytest.mark.slow


async def test_sigterm_closes_websockets_with_1012(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVE_", "PROMETHEUS"))}
    env |= {
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_REDIS_EMBEDDED_DIR": str(tmp_path / "redis"),
        "LIVE_LOGGING_LEVEL": "warning",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "live.cli",
        "serve",
        "--port",
        str(port),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            room = (
                await http.post(
                    "/api/rooms",
                    json={"title": "t", "host_name": "h"},
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                )
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
