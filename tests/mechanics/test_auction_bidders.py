"""500 bidders at once on one auction served by two `live serve` workers, each bid sent
twice (a retry): one winner, one order at the final price, prices rising with every seq."""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from live.commerce.auction_rules import increment_for
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from tests.conftest import free_port
from tests.redis_server import TestRedis
from tests.serving import ADMIN, serve_env, spawn_serve, stop, wait_healthy_async

BIDDERS = 500
START_CENTS = 100


@pytest.fixture
async def two_workers(redis_server: TestRedis) -> AsyncIterator[tuple[str, Keys]]:
    port = free_port()
    prefix = "k" + secrets.token_hex(4)
    env = serve_env(
        LIVE_REDIS_URL=redis_server.url,
        LIVE_REDIS_KEY_PREFIX=prefix,
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="error",
    )
    process = spawn_serve(port, env, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy_async(base)
        yield base, Keys(prefix)
    finally:
        stop(process)


async def _bidder(
    http: httpx.AsyncClient, token: str, auction_id: str, rng: random.Random
) -> list[dict[str, Any]]:
    """Up to three bids of one to four increments (some with a max), each sent twice."""
    accepted: list[dict[str, Any]] = []
    auth = {"Authorization": f"Bearer {token}"}
    amount = START_CENTS
    for _ in range(3):
        for _ in range(1 + rng.randrange(4)):  # the least raise, or a few increments more
            amount += increment_for(amount)
        body: dict[str, Any] = {"amount_cents": amount}
        if rng.random() < 0.3:
            body["max_cents"] = amount + rng.randrange(0, 20_000, 100)
        headers = {**auth, "Idempotency-Key": secrets.token_hex(8)}
        path = f"/api/auctions/{auction_id}/bids"
        first, retry = await asyncio.gather(
            http.post(path, json=body, headers=headers), http.post(path, json=body, headers=headers)
        )
        if first.status_code in (200, 201):
            assert retry.json() == first.json()  # the same key answers the same bid
            accepted.append(first.json())
            amount = first.json()["price_cents"]
            continue
        error = first.json()["error"]
        if error["code"] == "auction_ended":
            break
        assert error["code"] == "bid_too_low", error
        amount = error["min_cents"]
    return accepted


async def test_five_hundred_bidders_one_winner_one_order(
    two_workers: tuple[str, Keys], redis: Redis
) -> None:
    base, keys = two_workers
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        sessions = await asyncio.gather(
            *(http.post("/api/sessions", json={"name": f"b{i}"}) for i in range(BIDDERS))
        )
        tokens = [answer.json()["token"] for answer in sessions]
        room = (
            await http.post("/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN)
        ).json()
        sku = "sku-" + secrets.token_hex(4)
        product = {"sku": sku, "title": "Cabinet", "price_cents": 1000, "currency": "USD"}
        assert (await http.post("/api/products", json=product, headers=ADMIN)).status_code == 201
        body = {"sku": sku, "start_cents": START_CENTS, "duration_s": 4, "extend_s": 1}
        auction = (
            await http.post(f"/api/rooms/{room['room_id']}/auctions", json=body, headers=ADMIN)
        ).json()
        rng = random.Random(17)
        results = await asyncio.gather(
            *(_bidder(http, t, auction["auction_id"], rng) for t in tokens)
        )
        assert sum(len(r) for r in results) >= 5

        final: dict[str, Any] = {}
        for _ in range(300):
            final = (await http.get(f"/api/auctions/{auction['auction_id']}")).json()
            if final["status"] == "ended":
                break
            await asyncio.sleep(0.1)
        assert final["status"] == "ended"

    room_id = room["room_id"]
    history = await redis.xrange(keys.room_history(room_id))
    events = [orjson.loads(fields[b"e"]) for _, fields in history]
    bids = [e for e in events if e["type"] == "bid"]
    prices = [b["price_cents"] for b in sorted(bids, key=lambda b: b["seq"])]
    assert all(a < b for a, b in itertools.pairwise(prices))
    assert len(bids) == final["bids"]
    (ended,) = [e for e in events if e["type"] == "auction_ended"]
    assert ended["price_cents"] == prices[-1] == final["price_cents"]
    assert ended["winner_id"] == bids[-1]["leader_id"] == final["winner_id"]
    orders = [k async for k in redis.scan_iter(keys.order_prefix(room_id) + "*", count=1000)]
    assert len(orders) == 1
    order = orjson.loads(await redis.get(orders[0]))
    assert (order["user_id"], order["amount_cents"]) == (final["winner_id"], final["price_cents"])
