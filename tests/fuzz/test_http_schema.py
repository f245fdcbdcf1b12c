"""Schema-driven fuzzing of the HTTP API from /openapi.json (schemathesis): whatever a
client sends, the server never answers 5xx and every error carries a stable code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import ADMIN_TOKEN, free_port
from tests.redis_server import TestRedis
from tests.serving import serve_env, spawn_serve, stop, wait_healthy

pytestmark = pytest.mark.slow


@schemathesis.serializer("application/sdp")
def sdp_serializer(ctx: Any, value: Any) -> bytes:
    """WHIP/WHEP bodies are SDP text: whatever the schema generates, sent as text."""
    return value.encode(errors="replace") if isinstance(value, str) else repr(value).encode()


@pytest.fixture(scope="module")
def server_url(redis_server: TestRedis) -> Iterator[str]:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_URL=redis_server.url,
        LIVE_REDIS_KEY_PREFIX="fuzz",
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="warning",
    )
    process = spawn_serve(port, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    yield base
    stop(process)


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
