"""Short headless runs of every scenario against a real server, and a broken sale caught.

Locust monkeypatches with gevent, so it always runs in a subprocess; nothing here imports
a locustfile. These need the room channel and the sales and orders of the full server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync

from loadtests.api import Api, get_sale, room_orders
from tests import redis_server as redis_servers
from tests.conftest import ADMIN_TOKEN, free_port

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["viewers", "flash_sale", "host", "show"]
RUN = ["--headless", "-u", "20", "-r", "20", "-t", "5s", "--only-summary"]

pytestmark = pytest.mark.slow


@dataclass
class ServerProcess:
    base_url: str
    redis_url: str
    process: subprocess.Popen[bytes]


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"live serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("live serve did not become healthy")


@pytest.fixture(scope="module")
def server(
    redis_server: redis_servers.TestRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    port = free_port()
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8,::1/128",
        "LIVE_REDIS_KEY_PREFIX": f"load{port}",
        "LIVE_LOGGING_FORMAT": "text",
        "LIVE_LOGGING_LEVEL": "warning",
    }
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", "from live.cli import main; main()", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process)
        yield ServerProcess(base_url, redis_server.url, process)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def run(args: list[str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIVE_ADMIN_TOKEN": ADMIN_TOKEN}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def run_scenario(server: ServerProcess, scenario: str) -> tuple[str, str]:
    done = run(["-m", "locust", "-f", f"loadtests/{scenario}.py", *RUN, "--host", server.base_url])
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    room = re.search(r"live-load: room (\S+)", output)
    assert room is not None, output[-3000:]
    return room.group(1), output


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_short_run_of_each_scenario_passes_its_invariants(
    server: ServerProcess, scenario: str
) -> None:
    _, output = run_scenario(server, scenario)
    assert "PASS: every invariant holds" in output
    assert re.search(r"WS\s+snapshot", output), "no channel events were reported"
    if scenario in ("flash_sale", "show"):
        assert re.search(r"POST\s+/api/sales/\[sale_id\]/orders", output), "nobody bought"


def tamper_with_sale(redis_url: str, sale_id: str, admin: Api) -> str:
    """Add 3 units to a counter of the sale's Redis hash, behind the server's back."""
    before = get_sale(admin, sale_id)
    client: Any = redis_sync.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [k for k in client.scan_iter(match=f"*{sale_id}*") if client.type(k) == "hash"]
        for key in keys:
            for field in ("left", "sold", "held"):
                if client.hexists(key, field):
                    client.hincrby(key, field, 3)
                    if get_sale(admin, sale_id) != before:
                        return f"{key} {field}"
    finally:
        client.close()
    pytest.fail(f"no hash counter of sale {sale_id} found to tamper with (keys: {keys})")


def test_a_sale_changed_behind_the_servers_back_fails_the_check(server: ServerProcess) -> None:
    room_id, _ = run_scenario(server, "flash_sale")
    admin = Api(server.base_url, ADMIN_TOKEN)
    sale_ids = {o["sale_id"] for o in room_orders(admin, room_id)}
    assert sale_ids, "the flash sale took no orders"
    clean = run(["-m", "loadtests.check", "--host", server.base_url, "--room", room_id])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    tamper_with_sale(server.redis_url, sorted(sale_ids)[0], admin)
    broken = run(["-m", "loadtests.check", "--host", server.base_url, "--room", room_id])
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "FAIL" in broken.stdout
    assert re.search(r"stock_mismatch|orders_mismatch|oversold|bad_counts", broken.stdout)
