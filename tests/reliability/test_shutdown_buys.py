"""SIGTERM in the middle of a flash-sale burst: every buy the server had started is
answered before it exits. A request cut off by the shutdown made no order, so retrying its
key on the restarted server creates the order afresh (201), never replays one (200)."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.serving import ADMIN, new_buyers, open_sale, serve_env, spawn_serve_async

pytestmark = pytest.mark.slow


async def start(tmp: Path, port: int) -> asyncio.subprocess.Process:
    env = serve_env(
        LIVE_REDIS_EMBEDDED_DIR=str(tmp / "redis"),
        LIVE_COMMERCE_DURABILITY="always",
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="warning",
    )
    return await spawn_serve_async(port, env)


async def test_sigterm_answers_every_started_buy(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = await start(tmp_path, port)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            _, sale = await open_sale(http, stock=1000, hold_s=300)
            tokens = await new_buyers(http, 200)
        path = f"/api/sales/{sale['sale_id']}/orders"
        answered: dict[str, str] = {}
        cut_off: list[tuple[str, str]] = []
        first = asyncio.Event()

        async def buy(token: str) -> None:
            key = secrets.token_hex(8)
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
            # A connection of its own, as separate phones would have.
            async with httpx.AsyncClient(base_url=base, timeout=20) as own:
                try:
                    answer = await own.post(path, json={"qty": 1}, headers=headers)
                except httpx.TransportError:
                    cut_off.append((token, key))
                    return
            if not first.is_set():
                # SIGTERM the moment the first answer arrives, in this same step: a task
                # woken for it could run after the whole burst was answered.
                first.set()
                process.send_signal(signal.SIGTERM)
            assert answer.status_code == 201, answer.text
            answered[key] = answer.json()["order_id"]

        await asyncio.gather(*(buy(t) for t in tokens))
        assert await asyncio.wait_for(process.wait(), 30) == 0
        # Buys were still in flight when SIGTERM came, and the server answered them.
        assert len(answered) > 1, "no buy was in flight at SIGTERM"
        # Every buy whose connection the server had accepted was answered.
        assert len(answered) + len(cut_off) == len(tokens)

        process = await start(tmp_path, port)
        async with httpx.AsyncClient(base_url=base, timeout=20) as http:
            for order_id in answered.values():
                found = await http.get(f"/api/orders/{order_id}", headers=ADMIN)
                assert found.status_code == 200, f"order {order_id} answered 201 was lost"
            for token, key in cut_off:
                retry = await http.post(
                    path,
                    json={"qty": 1},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                )
                # 200 would mean the first attempt made an order and its answer was lost.
                assert retry.status_code == 201, retry.text
            state = (await http.get(f"/api/sales/{sale['sale_id']}")).json()
        assert state["held"] + state["sold"] == len(answered) + len(cut_off)
        assert state["stock"] == state["left"] + state["held"] + state["sold"]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await process.wait()
