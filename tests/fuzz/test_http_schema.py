"""Schema-driven fuzzing of the HTTP API from /openapi.json (schemathesis): whatever a
client sends, the server never answers 5xx and every error carries a stable code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from live.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, free_port
from tests.redis_server import TestRedis

pytestmark = pytest.mark.slow


@schemathesis.serializer("application/sdp")
def sdp_serializer(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP bodies are SDP text: whatever the schema generates, sent as text."""
    return value.encode(errors="replace") if isinstance(value, str) else repr(value).encode()


@pytest.fixture(scope="module")
def server_url(redis_server: TestRedis) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVE_", "PROMETHEUS"))}
    env |= {
        "LIVE_REDIS_URL": redis_server.url,
        "LIVE_ADMIN_TOKEN": ADMIN_TOKEN,
        "LIVE_REDIS_KEY_PREFIX": "fuzz",
        "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
        "LIVE_LOGGING_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "live.cli", "serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(20)


def test_no_input_makes_the_server_fail(server_url: str) -> None:
    api = schemathesis.openapi.from_url(server_url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 8
    for operation in operations:
        fuzz_operation(operation, server_url)


def fuzz_operation(operation: Any, server_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        for token in (None, ADMIN_TOKEN):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = case.call(base_url=server_url, headers=headers)
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                assert isinstance(response.json()["error"]["code"], str)

    run()
