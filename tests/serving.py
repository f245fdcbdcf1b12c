"""Running `live serve` as a user does (a real process), and setting up a shop through
the HTTP API: shared by the tests that need a whole server rather than the in-process one."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import httpx

from live.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, RECORDINGS_DIR

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def serve_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any LIVE_* or metrics variable, plus `overrides`
    (the admin token is always set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVE_", "PROMETHEUS"))}
    return {
        **env,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_MEDIA_RECORDINGS_DIR": RECORDINGS_DIR,
        **overrides,
    }


def spawn_serve(
    port: int,
    env: dict[str, str],
    workers: int = 1,
    extra_args: Sequence[str] = (),
    stderr: Any = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """`live serve --port PORT --workers N` in the project root; not yet healthy."""
    command = [sys.executable, "-m", "live.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers), *extra_args]
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )


async def spawn_serve_async(port: int, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`live serve --port PORT` for async tests, healthy on return."""
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
    await wait_healthy_async(f"http://127.0.0.1:{port}")
    return process


def wait_healthy(base: str, timeout_s: float = 30, **client: Any) -> None:
    """Block until `base/healthz` answers 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/healthz", timeout=1, **client).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{base} never became healthy")


async def wait_healthy_async(base: str, timeout_s: float = 30) -> None:
    """`wait_healthy` for async tests: the event loop keeps running meanwhile."""
    async with httpx.AsyncClient(base_url=base) as http:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} never became healthy")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 20) -> None:
    """SIGTERM, then SIGKILL if it will not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def open_sale(http: httpx.AsyncClient, **sale: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new room with one product in its line-up and a sale of it opened by the admin;
    `sale` overrides the sale's fields. Returns (room, sale)."""
    room = (
        await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN)
    ).json()
    sku = "sku-" + secrets.token_hex(4)
    product = {"sku": sku, "title": "Mug", "price_cents": 1000, "currency": "CNY"}
    assert (await http.post("/api/products", json=product, headers=ADMIN)).status_code == 201
    await http.post(f"/api/rooms/{room['room_id']}/products", json={"sku": sku}, headers=ADMIN)
    body = {
        "sku": sku,
        "stock": 10,
        "price_cents": 900,
        "per_buyer_limit": 1,
        "hold_s": 120,
        "duration_s": 600,
        **sale,
    }
    answer = await http.post(f"/api/rooms/{room['room_id']}/sales", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return room, created


async def new_buyers(http: httpx.AsyncClient, count: int) -> list[str]:
    """Tokens of `count` new viewer sessions."""
    return [
        (await http.post("/api/sessions", json={"name": f"b{i}"})).json()["token"]
        for i in range(count)
    ]
