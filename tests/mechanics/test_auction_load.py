"""The locust auction scenario against a real server passes its verdict, and the verdict
catches a ledger the rules cannot explain."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from live.settings import PROJECT_ROOT
from loadtests.auction_verdict import AcceptedBid, judge
from tests.conftest import ADMIN_TOKEN, free_port
from tests.redis_server import TestRedis
from tests.serving import serve_env, spawn_serve, stop, wait_healthy_async

OPENED = {
    "auction_id": "a_r_x_y",
    "price_cents": 1000,
    "start_cents": 1000,
    "ends_at": 100_000,
    "mode": "standard",
    "extend_s": 10,
}


def _answer(
    no: int, price: int, leader: str, ends_at: int, at: int, seq: int | None
) -> dict[str, int | str]:
    answer: dict[str, int | str] = {
        "bid_no": no,
        "price_cents": price,
        "leader_id": leader,
        "ends_at": ends_at,
        "at": at,
    }
    return answer if seq is None else {**answer, "seq": seq}


def test_the_verdict_replays_a_ledger_and_catches_a_wrong_price() -> None:
    bids = [
        AcceptedBid("A", 1000, 5000, _answer(1, 1000, "A", 100_000, 50_000, 1)),
        AcceptedBid("B", 1200, 1200, _answer(2, 1400, "A", 100_000, 60_000, 2)),
        # In the last 10 s: the end moves to the bid's time + 10 s.
        AcceptedBid("C", 3000, 6000, _answer(3, 5500, "C", 105_000, 95_000, 3)),
    ]
    final = {
        "auction_id": "a_r_x_y",
        "status": "ended",
        "price_cents": 5500,
        "ends_at": 105_000,
        "winner_id": "C",
        "winner_name": "C",
        "bids": 3,
    }
    order = {"order_id": "o", "sale_id": "a_r_x_y", "user_id": "C", "amount_cents": 5500}
    verdict = judge(OPENED, final, bids, [order])
    assert verdict.ok, verdict.lines()
    assert verdict.facts["extensions"] == 1

    wrong = [*bids[:2], AcceptedBid("C", 3000, 6000, _answer(3, 6000, "C", 105_000, 95_000, 3))]
    broken = judge(OPENED, {**final, "price_cents": 6000}, wrong, [{**order, "amount_cents": 6000}])
    assert not broken.ok
    assert any("the rules give 5500" in p for p in broken.problems)
    not_extended = [
        *bids[:2],
        AcceptedBid("C", 3000, 6000, _answer(3, 5500, "C", 100_000, 95_000, 3)),
    ]
    assert not judge(OPENED, {**final, "ends_at": 100_000}, not_extended, [order]).ok


@pytest.fixture
async def server(redis_server: TestRedis) -> AsyncIterator[str]:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_URL=redis_server.url,
        LIVE_REDIS_KEY_PREFIX="al" + secrets.token_hex(3),
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="error",
    )
    process = spawn_serve(port, env)
    try:
        await wait_healthy_async(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.mark.slow
async def test_a_short_auction_run_passes_its_verdict(server: str) -> None:
    env = {
        **os.environ,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "AUCTION_DURATION_S": "5",
        "AUCTION_EXTEND_S": "2",
    }
    command = [sys.executable, "-m", "locust", "-f", "loadtests/auction.py", "--headless"]
    # The run stops by itself once the auction has ended, every answer in flight is in the
    # ledger and the winner's order is recorded (conditions, loadtests/auction.py); `-t`
    # and the timeout only bound a run that would hang.
    command += ["-u", "40", "-r", "40", "-t", "120s", "--only-summary", "--host", server]
    done = subprocess.run(  # noqa: ASYNC221 (a whole locust run; nothing else to do meanwhile)
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "auction verdict: OK" in output, output[-5000:]
