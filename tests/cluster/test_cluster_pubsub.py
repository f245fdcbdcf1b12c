"""The room channels' sharded subscriptions on a real Redis Cluster: messages published on
a channel's shard arrive; when that shard's primary dies, the subscription moves by itself
to the promoted replica and messages flow again."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from live.redisdb.client import connect
from live.redisdb.pubsub import ClusterSubscriber, Message, room_subscriber
from tests.cluster.conftest import cluster_settings
from tests.redis_cluster import TestRedisCluster


async def _next(subscriber: ClusterSubscriber, kind: str, within: float = 20.0) -> Message:
    """The next message of type `kind`, skipping others and the subscription-lost errors."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            message = await subscriber.get_message(wait_s=0.5)
        except Exception:
            continue
        if message is not None and message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message within {within}s")


@pytest.mark.slow
async def test_a_subscription_follows_its_shard_through_a_failover(
    redis_cluster: TestRedisCluster,
) -> None:
    redis_cluster.wait_ready()
    client = connect(redis_cluster.url, cluster_settings())
    await client.initialize()
    subscriber = room_subscriber(client)
    assert isinstance(subscriber, ClusterSubscriber)
    channel = f"t:{{r:{secrets.token_hex(4)}}}:events"
    victim: int | None = None
    try:
        await subscriber.subscribe(channel)
        assert (await _next(subscriber, "subscribe"))["channel"] == channel.encode()
        await client.spublish(channel, b"before")
        assert (await _next(subscriber, "message"))["data"] == b"before"
        victim = redis_cluster.primary_of(channel)
        redis_cluster.kill(victim)
        # Moved to the promoted replica: it says so with a new `subscribe`.
        assert (await _next(subscriber, "subscribe"))["channel"] == channel.encode()
        assert redis_cluster.primary_of(channel) != victim
        for _ in range(50):  # the publishing client may still be finding the new primary
            try:
                await client.spublish(channel, b"after")
                break
            except Exception:
                await asyncio.sleep(0.2)
        assert (await _next(subscriber, "message"))["data"] == b"after"
    finally:
        await subscriber.aclose()
        await client.aclose()
        if victim is not None:
            redis_cluster.restart(victim)  # in this thread: the node dies with its parent thread
            await asyncio.to_thread(redis_cluster.wait_ready)
