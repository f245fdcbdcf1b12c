"""Connecting to Redis and checking it can keep what the settings promise."""

from __future__ import annotations

from typing import Any, TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from live.settings import Settings

# redis-py is untyped for mypy here (see pyproject.toml), so the client is `Any` to it.
Redis: TypeAlias = Any
MIN_MAJOR = 7


class RedisCheckError(RuntimeError):
    """Redis is unreachable, too old or configured so that it could lose accepted orders."""


def connect(url: str, settings: Settings) -> Redis:
    """A pooled client. It retries only connection errors, and only for idempotent reads
    and our scripts, which are written to be safe to run twice. With `[redis] mode =
    "cluster"`, `url` names any one node and the client is redis-py's `RedisCluster`."""
    if settings.redis.mode == "cluster":
        return RedisCluster.from_url(
            url,
            decode_responses=False,
            socket_timeout=settings.redis.command_timeout_s,
            socket_connect_timeout=settings.redis.connect_timeout_s,
            max_connections=settings.redis.max_connections,
            health_check_interval=30,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
    client: Redis = aioredis.Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=settings.redis.command_timeout_s,
        socket_connect_timeout=settings.redis.connect_timeout_s,
        max_connections=settings.redis.max_connections,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return client


def is_cluster(client: Redis) -> bool:
    return isinstance(client, RedisCluster)


async def check_server(client: Redis, settings: Settings) -> dict[str, Any]:
    """Verify version and persistence settings at start-up (on every primary of a cluster);
    return INFO server fields."""
    if not is_cluster(client):
        return await _check_one(client, settings)
    try:
        await client.initialize()
        primaries = client.get_primaries()
    except RedisError as exc:
        raise RedisCheckError(f"Redis Cluster is unreachable: {exc}") from exc
    infos = []
    for node in primaries:
        one = node_client(client, node)
        try:
            infos.append(await _check_one(one, settings))
        finally:
            await one.aclose()
    return infos[0]


async def ping(client: Redis) -> None:
    """Raise unless Redis answers: the server, or on a cluster every primary (a stalled or
    lost replica does not make the service unhealthy; a primary without a successor does)."""
    if is_cluster(client):
        await client.ping(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.ping()


def node_client(cluster: Redis, node: Any) -> Redis:
    """A plain client of one cluster node (start-up checks and diagnostics)."""
    kwargs = {k: v for k, v in node.connection_kwargs.items() if k in _NODE_KWARGS}
    return aioredis.Redis(host=node.host, port=node.port, **kwargs)


_NODE_KWARGS = {"username", "password", "socket_timeout", "socket_connect_timeout", "ssl"}


async def _check_one(client: Redis, settings: Settings) -> dict[str, Any]:
    try:
        info = await client.info("server")
        config = await client.config_get("appendonly")
        config |= await client.config_get("appendfsync")
        config |= await client.config_get("maxmemory-policy")
    except RedisError as exc:
        raise RedisCheckError(f"Redis is unreachable: {exc}") from exc
    version = str(info.get("redis_version", "0"))
    if int(version.split(".")[0]) < MIN_MAJOR:
        raise RedisCheckError(f"Redis {version} is too old: live needs Redis 7 or newer")
    problems = persistence_problems(
        {_text(k): _text(v) for k, v in config.items()}, settings.commerce.durability
    )
    if problems:
        raise RedisCheckError(
            "Redis cannot keep what [commerce] durability="
            f"{settings.commerce.durability} promises: " + "; ".join(problems)
        )
    return dict(info)


def persistence_problems(config: dict[str, str], durability: str) -> list[str]:
    """What is wrong with Redis's persistence for `durability` (empty: nothing). Pure."""
    problems = []
    if config.get("appendonly") != "yes":
        problems.append("appendonly must be yes")
    # `replicated` counts on the replicas, so each server may fsync every second.
    wanted = {"always"} if durability == "always" else {"always", "everysec"}
    if config.get("appendfsync") not in wanted:
        problems.append(f"appendfsync must be {' or '.join(sorted(wanted))}")
    if config.get("maxmemory-policy") != "noeviction":
        problems.append("maxmemory-policy must be noeviction (orders must never be evicted)")
    return problems


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
