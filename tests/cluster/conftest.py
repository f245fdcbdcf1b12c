"""Fixtures over one real Redis Cluster (three primaries, three replicas) per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings, start_server
from tests.redis_cluster import TestRedisCluster


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[TestRedisCluster]:
    cluster = TestRedisCluster()
    cluster.start()
    yield cluster
    cluster.stop()


def cluster_settings(**env: str) -> Settings:
    return make_settings(LIVE_REDIS_MODE="cluster", **env)


@pytest.fixture
async def cluster_server(redis_cluster: TestRedisCluster) -> AsyncIterator[LiveServer]:
    """The whole app on uvicorn in this event loop, on the cluster, `durability =
    "replicated"`."""
    redis_cluster.wait_ready()
    settings = cluster_settings(
        LIVE_COMMERCE_DURABILITY="replicated", LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8"
    )
    server, task, port, app = await start_server(settings, redis_cluster.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task
