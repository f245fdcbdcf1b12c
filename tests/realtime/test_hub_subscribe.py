"""When Redis cannot take a room's subscription, everyone joining that room fails at once
and nobody stays counted as connected."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY
from redis.exceptions import RedisError

from live.app import create_app
from live.realtime.hub import Connection
from tests.conftest import free_port, make_settings


async def _ignore(_message: dict[str, Any]) -> None:
    return None


def _connections() -> float:
    return REGISTRY.get_sample_value("live_ws_connections") or 0.0


async def test_joiners_of_a_room_whose_subscription_fails_all_fail_at_once() -> None:
    settings = make_settings()
    # Nothing listens there: a Redis that is down.
    parts = create_app(settings, f"redis://127.0.0.1:{free_port()}/0").parts
    redis, hub = parts.redis, parts.room_hub
    before = _connections()
    conns = [Connection("r_down", None, _ignore, 1 << 20, hub.leave) for _ in range(3)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    # The second and third join while the first is still subscribing.
    results = await asyncio.gather(*(hub.join(c) for c in conns), return_exceptions=True)
    took = loop.time() - started
    for conn in conns:
        hub.leave(conn)  # what the endpoint does when join fails
    assert all(isinstance(r, RedisError | OSError) for r in results), results
    assert took < 4.0  # not the 5 s subscription timeout
    assert _connections() == before
    # The room is not left half-made: a later joiner tries again (and fails the same way).
    retry = Connection("r_down", None, _ignore, 1 << 20, hub.leave)
    started = loop.time()
    try:
        await hub.join(retry)
    except (RedisError, OSError):
        pass
    else:
        raise AssertionError("joined a room whose channel Redis cannot serve")
    finally:
        hub.leave(retry)
    assert loop.time() - started < 4.0
    assert _connections() == before
    await redis.aclose()
