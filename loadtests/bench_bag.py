"""Benchmark of the shop's bag checkout (3 lines over 3 products) against the floor of the
stack, in one run: `bench_buy`'s bag mode.

    python -m loadtests.bench_bag [--seconds 10] [--rounds 4] [--buyers 5000] [--burst 20000]
                                  [--units 500]

As `loadtests/bench_buy.py`: an embedded Redis, `live` and the floor (one Redis call),
then 1. closed loop, 64 connections, floor and checkouts in turns: requests/s and their
ratio; 2. open loop at half the checkout rate: p50, p95, p99; 3. a burst of `--burst`
one-line checkouts from `--buyers` buyers on `--units` units of one variant: oversold
units, duplicate orders per key, answers by status.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import secrets
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
import uvloop

from live.auth import Identity, Role, TokenSigner
from live.redisdb.embedded import EmbeddedRedis, free_port
from loadtests.bench_buy import (
    HOST,
    cpu_per_request,
    cpu_window,
    start_server,
    wait_for_aof_rewrite,
    wait_up,
)
from loadtests.rawhttp import Tally, closed_loop, open_loop, post, run_list


def set_up_shop(port: int, admin: str, stock: int, products: int = 3) -> tuple[str, list[str]]:
    """A room with `products` products of two sizes on its line-up; (room_id, skus)."""
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", headers=auth, timeout=10) as http:
        room = http.post("/api/rooms", json={"title": "Bench", "host_name": "B"})
        room.raise_for_status()
        room_id = str(room.json()["room_id"])
        skus = []
        for _ in range(products):
            sku = "bench-" + secrets.token_hex(4)
            sizes = [{"variant_id": v, "label": v, "stock": stock} for v in ("s", "m")]
            product = {"sku": sku, "title": "Shirt", "price_cents": 990, "currency": "EUR",
                       "variants": sizes}  # fmt: skip
            http.post("/api/products", json=product).raise_for_status()
            http.post(f"/api/rooms/{room_id}/products", json={"sku": sku}).raise_for_status()
            skus.append(sku)
        return room_id, skus


def checkout_request(room_id: str, lines: list[dict[str, Any]], token: str, key: str) -> bytes:
    return post(
        f"/api/rooms/{room_id}/orders",
        orjson.dumps({"lines": lines}),
        {"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


def product(port: int, sku: str) -> dict[str, Any]:
    answer = httpx.get(f"http://{HOST}:{port}/api/products/{sku}", timeout=10)
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


async def measure(
    args: argparse.Namespace, live_port: int, floor_port: int, env: dict[str, str],
    pids: dict[str, int],
) -> dict[str, Any]:  # fmt: skip
    signer = TokenSigner(env["LIVE_AUTH_SECRET"].encode(), None)
    tokens = [
        signer.issue(Identity(Role.VIEWER, f"u_bench{n}", "b"), ttl_s=3600, now=time.time())
        for n in range(args.buyers)
    ]
    admin = env["LIVE_ADMIN_TOKEN"]
    room_id, skus = set_up_shop(live_port, admin, stock=1_000_000)
    lines = [{"sku": sku, "variant_id": "m", "qty": 1} for sku in skus]
    counter = itertools.count()

    def next_checkout() -> bytes:
        n = next(counter)
        return checkout_request(room_id, lines, tokens[n % len(tokens)], f"k{n}")

    floor_body = post("/floor", b'{"qty":1}', {})
    phases = {
        "floor": (floor_port, lambda: floor_body, ("floor", "redis")),
        "bag": (live_port, next_checkout, ("live", "redis")),
    }
    counts = dict.fromkeys(phases, 0.0)
    elapsed = dict.fromkeys(phases, 0.0)
    tallies = {name: Tally() for name in phases}
    cpu = {name: dict.fromkeys(procs, 0.0) for name, (_, _, procs) in phases.items()}
    store = redis.Redis.from_url(env["LIVE_REDIS_URL"])
    for _ in range(args.rounds):
        for name, (port, make, procs) in phases.items():
            # As bench_buy: an AOF rewrite set off by the checkouts must not run in the
            # floor's window.
            wait_for_aof_rewrite(store)
            seconds = args.seconds / args.rounds
            window = cpu_window(pids, procs, cpu[name])
            rps, tally = await closed_loop(HOST, port, 64, seconds, 1.0, make, window)
            counts[name] += len(tally.latencies)
            elapsed[name] += len(tally.latencies) / rps if rps else seconds
            tallies[name].latencies += tally.latencies
            for status, n in tally.statuses.items():
                tallies[name].statuses[status] = tallies[name].statuses.get(status, 0) + n
    floor_rps = counts["floor"] / elapsed["floor"]
    bag_rps = counts["bag"] / elapsed["bag"]
    report: dict[str, Any] = {
        "floor_rps": round(floor_rps),
        "bag_rps": round(bag_rps),
        "ratio": round(bag_rps / floor_rps, 3),
        "bag_statuses": tallies["bag"].statuses,
        "closed_loop_p50_ms": round(tallies["bag"].percentile(0.5) * 1000, 2),
        "floor_cpu_us_per_request": cpu_per_request(cpu["floor"], tallies["floor"]),
        "bag_cpu_us_per_request": cpu_per_request(cpu["bag"], tallies["bag"]),
    }
    rate = args.open_rate or bag_rps / 2
    # The open loop starts on a Redis that is not rewriting; a rewrite the open loop itself
    # sets off stays in its figures, and is counted.
    wait_for_aof_rewrite(store)
    rewrites_before = store.info("persistence")["aof_rewrites"]
    latency = await open_loop(HOST, live_port, 64, rate, args.seconds, next_checkout)
    persistence = store.info("persistence")
    report["aof_rewrites_in_open_loop"] = (
        persistence["aof_rewrites"] - rewrites_before + int(persistence["aof_rewrite_in_progress"])
    )
    store.close()
    report["open_loop_rate"] = round(rate)
    report["open_loop_statuses"] = latency.statuses
    for p in (0.5, 0.95, 0.99):
        report[f"p{int(p * 100)}_ms"] = round(latency.percentile(p) * 1000, 2)
    for sku in skus:
        for v in product(live_port, sku)["variants"]:
            assert v["stock"] == v["available"] + v["held"] + v["sold"], v
    report["burst"] = await burst(args, live_port, admin, tokens)
    return report


async def burst(
    args: argparse.Namespace, port: int, admin: str, tokens: list[str]
) -> dict[str, Any]:
    """`args.burst` one-line checkouts of one variant with `args.units` units; each buyer
    sends its first key twice (a retry)."""
    room_id, (sku, *_) = set_up_shop(port, admin, stock=args.units, products=1)
    line = [{"sku": sku, "variant_id": "m", "qty": 1}]
    planned: list[tuple[str, bytes]] = []
    per_buyer = max(1, args.burst // len(tokens))
    for b, token in enumerate(tokens):
        for r in range(per_buyer):
            key = f"b{b}-k{max(0, r - 1)}"
            planned.append((key, checkout_request(room_id, line, token, key)))
    random.Random(1).shuffle(planned)
    statuses: dict[int, int] = defaultdict(int)
    orders_by_key: dict[str, set[str]] = defaultdict(set)

    def on_response(index: int, status: int, body: bytes) -> None:
        statuses[status] += 1
        if status in (200, 201):
            orders_by_key[planned[index][0]].add(orjson.loads(body)["order_id"])

    took = await run_list(HOST, port, 256, [req for _, req in planned], on_response)
    m = next(v for v in product(port, sku)["variants"] if v["variant_id"] == "m")
    orders = {oid for ids in orders_by_key.values() for oid in ids}
    return {
        "requests": len(planned),
        "units": args.units,
        "statuses": dict(statuses),
        "drain_s": round(took, 2),
        "units_taken": m["held"] + m["sold"],
        "oversold": max(0, m["held"] + m["sold"] - args.units),
        "orders": len(orders),
        "keys_with_two_orders": sum(1 for ids in orders_by_key.values() if len(ids) > 1),
        "invariant": m["stock"] == m["available"] + m["held"] + m["sold"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument(
        "--open-rate", type=float, default=0.0, help="the open loop's rate (default: half)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp:
        store = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        env = {
            **os.environ,
            "LIVE_REDIS_URL": store.start(),
            "LIVE_ADMIN_TOKEN": secrets.token_urlsafe(32),
            "LIVE_AUTH_SECRET": secrets.token_urlsafe(16),
            "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
            "LIVE_LOGGING_LEVEL": "warning",
            "LIVE_REDIS_KEY_PREFIX": "bench",
        }
        live_port, floor_port = free_port(), free_port()
        servers = [
            start_server("live.cli:app_from_environment", live_port, env),
            start_server("loadtests.floor_app:create_floor_app", floor_port, env),
        ]
        try:
            wait_up(live_port, "/healthz")
            wait_up(floor_port, "/")
            assert store.pid is not None
            pids = {"live": servers[0].pid, "floor": servers[1].pid, "redis": store.pid}
            report = uvloop.run(measure(args, live_port, floor_port, env, pids))
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
            store.stop()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


if __name__ == "__main__":
    main()
