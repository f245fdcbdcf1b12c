"""Benchmark of the buy path against the floor of the stack, in one run.

    python -m loadtests.bench_buy [--seconds 10] [--rounds 4] [--buyers 5000] [--burst 20000]
                                  [--units 500]

Starts an embedded Redis, `live` and a bare Starlette endpoint making one Redis call (the
floor), both on uvicorn + uvloop + httptools with one worker, then measures:
1. closed loop, 64 keep-alive connections: floor requests/s and buys/s, measured in turns
   (`--rounds` of each, `--seconds` in all for each), and their ratio;
2. open loop at half the measured buy rate: p50, p95, p99 latency;
3. a burst of `--burst` buys from `--buyers` buyers on `--units` units: oversold units,
   duplicate orders, answers by status, time to drain.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
import uvloop

from live.auth import Identity, Role, TokenSigner
from live.redisdb.embedded import EmbeddedRedis, free_port
from loadtests.rawhttp import Tally, closed_loop, open_loop, post, run_list

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def start_server(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory", "--host", HOST, "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=ROOT)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(port: int, path: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{HOST}:{port}{path}", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def setup_sale(port: int, admin: str, **fields: Any) -> str:
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=f"http://{HOST}:{port}", headers=auth, timeout=10) as http:
        sku = "bench-" + secrets.token_hex(4)
        product = {"sku": sku, "title": "Bench mug", "price_cents": 990, "currency": "EUR"}
        http.post("/api/products", json=product).raise_for_status()
        room = http.post("/api/rooms", json={"title": "Bench", "host_name": "B"})
        room.raise_for_status()
        # Sales sell line-up products only.
        lineup = f"/api/rooms/{room.json()['room_id']}/products"
        http.post(lineup, json={"sku": sku}).raise_for_status()
        body = {"sku": sku, "price_cents": 990, "hold_s": 3600, "duration_s": 3600, **fields}
        sale = http.post(f"/api/rooms/{room.json()['room_id']}/sales", json=body)
        sale.raise_for_status()
        return str(sale.json()["sale_id"])


def get_sale(port: int, sale_id: str) -> dict[str, Any]:
    answer = httpx.get(f"http://{HOST}:{port}/api/sales/{sale_id}", timeout=10)
    answer.raise_for_status()
    sale: dict[str, Any] = answer.json()
    return sale


def buy_request(sale_id: str, token: str, key: str, qty: int = 1) -> bytes:
    return post(
        f"/api/sales/{sale_id}/orders",
        orjson.dumps({"qty": qty}),
        {"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


async def measure(
    args: argparse.Namespace,
    live_port: int,
    floor_port: int,
    env: dict[str, str],
    pids: dict[str, int],
) -> dict[str, Any]:
    signer = TokenSigner(env["LIVE_AUTH_SECRET"].encode(), None)
    now = time.time()
    tokens = [
        signer.issue(Identity(Role.VIEWER, f"u_bench{n}", "b"), ttl_s=3600, now=now)
        for n in range(args.buyers)
    ]
    admin = env["LIVE_ADMIN_TOKEN"]
    report: dict[str, Any] = {}

    floor_body = post("/floor", b'{"qty":1}', {})
    sale_id = setup_sale(live_port, admin, stock=1_000_000, per_buyer_limit=1000)
    counter = itertools.count()

    def next_buy() -> bytes:
        n = next(counter)
        return buy_request(sale_id, tokens[n % len(tokens)], f"k{n}")

    # The floor and the buys take turns in short rounds, so both meet the same machine: on
    # a shared machine the load of other work drifts within seconds.
    phases = {
        "floor": (floor_port, lambda: floor_body, ("floor", "redis")),
        "buy": (live_port, next_buy, ("live", "redis")),
    }
    tallies = {name: Tally() for name in phases}
    counts = dict.fromkeys(phases, 0.0)
    elapsed = dict.fromkeys(phases, 0.0)
    cpu = {name: dict.fromkeys(procs, 0.0) for name, (_, _, procs) in phases.items()}
    store = redis.Redis.from_url(env["LIVE_REDIS_URL"])
    store.config_resetstat()
    rewrites_waited = 0.0
    for _ in range(args.rounds):
        for name, (port, make, procs) in phases.items():
            # An AOF rewrite set off by the buys must not run in the floor's window.
            rewrites_waited += wait_for_aof_rewrite(store)
            seconds = args.seconds / args.rounds
            window = cpu_window(pids, procs, cpu[name])
            rps, tally = await closed_loop(HOST, port, 64, seconds, 1.0, make, window)
            counts[name] += len(tally.latencies)
            elapsed[name] += len(tally.latencies) / rps if rps else seconds
            tallies[name].latencies += tally.latencies
            for status, n in tally.statuses.items():
                tallies[name].statuses[status] = tallies[name].statuses.get(status, 0) + n
    floor_rps = counts["floor"] / elapsed["floor"]
    buy_rps = counts["buy"] / elapsed["buy"]
    report["rounds"] = args.rounds
    report["aof_rewrites"] = store.info("persistence")["aof_rewrites"]
    report["aof_rewrite_wait_s"] = round(rewrites_waited, 2)
    report["redis_usec_by_command"] = redis_time_by_command(store)
    report["floor_rps"] = round(floor_rps)
    report["floor_cpu_us_per_request"] = cpu_per_request(cpu["floor"], tallies["floor"])
    report["buy_cpu_us_per_request"] = cpu_per_request(cpu["buy"], tallies["buy"])
    report["buy_rps"] = round(buy_rps)
    report["buy_statuses"] = tallies["buy"].statuses
    report["ratio"] = round(buy_rps / floor_rps, 3)
    report["closed_loop_p50_ms"] = round(tallies["buy"].percentile(0.5) * 1000, 2)

    rate = buy_rps / 2
    # The open loop starts on a Redis that is not rewriting; a rewrite the open loop itself
    # sets off stays in its figures, and is counted.
    wait_for_aof_rewrite(store)
    rewrites_before = store.info("persistence")["aof_rewrites"]
    latency = await open_loop(HOST, live_port, 64, rate, args.seconds, next_buy)
    report["aof_rewrites_in_open_loop"] = (
        store.info("persistence")["aof_rewrites"]
        - rewrites_before
        + int(store.info("persistence")["aof_rewrite_in_progress"])
    )
    store.close()
    report["open_loop_rate"] = round(rate)
    report["open_loop_statuses"] = latency.statuses
    for p in (0.5, 0.95, 0.99):
        report[f"p{int(p * 100)}_ms"] = round(latency.percentile(p) * 1000, 2)
    sale = get_sale(live_port, sale_id)
    assert sale["stock"] == sale["left"] + sale["held"] + sale["sold"]

    report["burst"] = await burst(args, live_port, admin, tokens)
    return report


def redis_time_by_command(store: Any, top: int = 8) -> dict[str, float]:
    """Redis CPU microseconds per command name over the closed loop, largest first.

    Commands run inside scripts count under their own names, so this shows where the buy
    script's time goes (the floor's share is its INCR)."""
    stats = store.info("commandstats")
    usec = {name.removeprefix("cmdstat_"): float(v["usec"]) for name, v in stats.items()}
    return dict(sorted(usec.items(), key=lambda kv: -kv[1])[:top])


def wait_for_aof_rewrite(store: Any) -> float:
    """Wait while Redis rewrites its append-only file; returns the seconds waited."""
    started = time.monotonic()
    while True:
        info = store.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return time.monotonic() - started
        time.sleep(0.05)


def cpu_window(
    pids: dict[str, int], procs: tuple[str, ...], into: dict[str, float]
) -> Callable[[bool], None]:
    """A closed loop's `on_window`: adds the processes' CPU seconds in the measured window
    to `into`, so CPU is counted over the same time as the requests."""
    before: dict[str, float] = {}

    def window(opens: bool) -> None:
        for p in procs:
            if opens:
                before[p] = cpu_seconds(pids[p])
            else:
                into[p] += cpu_seconds(pids[p]) - before[p]

    return window


def cpu_per_request(cpu: dict[str, float], tally: Tally) -> dict[str, float]:
    """CPU microseconds per answered request, per process, over the measured windows."""
    count = max(1, len(tally.latencies))
    return {name: round(seconds * 1e6 / count, 1) for name, seconds in cpu.items()}


async def burst(
    args: argparse.Namespace, port: int, admin: str, tokens: list[str]
) -> dict[str, Any]:
    """`args.burst` buys from the buyers on `args.units` units: each buyer sends one key
    twice (a retry) and other keys once."""
    sale_id = setup_sale(port, admin, stock=args.units, per_buyer_limit=2)
    rng = random.Random(1)
    planned: list[tuple[str, bytes]] = []
    per_buyer = max(1, args.burst // len(tokens))
    for b, token in enumerate(tokens):
        for r in range(per_buyer):
            key = f"b{b}-k{max(0, r - 1)}"  # the first key is sent twice
            planned.append((key, buy_request(sale_id, token, key)))
    rng.shuffle(planned)
    statuses: dict[int, int] = defaultdict(int)
    orders_by_key: dict[str, set[str]] = defaultdict(set)
    qty_by_order: dict[str, int] = {}

    def on_response(index: int, status: int, body: bytes) -> None:
        statuses[status] += 1
        if status in (200, 201):
            order = orjson.loads(body)
            orders_by_key[planned[index][0]].add(order["order_id"])
            qty_by_order[order["order_id"]] = order["qty"]

    took = await run_list(HOST, port, 256, [req for _, req in planned], on_response)
    sale = get_sale(port, sale_id)
    taken = sale["held"] + sale["sold"]
    return {
        "requests": len(planned),
        "buyers": len(tokens),
        "units": args.units,
        "statuses": dict(statuses),
        "drain_s": round(took, 2),
        "requests_per_s": round(len(planned) / took),
        "units_taken": taken,
        "oversold": max(0, taken - args.units),
        "orders": len(qty_by_order),
        "units_in_orders": sum(qty_by_order.values()),
        "keys_with_two_orders": sum(1 for ids in orders_by_key.values() if len(ids) > 1),
        "invariant": sale["stock"] == sale["left"] + sale["held"] + sale["sold"],
        "unexpected_statuses": sorted(set(statuses) - {200, 201, 409, 429}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=4, help="turns of floor and buys")
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--burst", type=int, default=20000)
    parser.add_argument("--units", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        env = {
            **os.environ,
            "LIVE_REDIS_URL": redis.start(),
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
            assert redis.pid is not None
            pids = {"live": servers[0].pid, "floor": servers[1].pid, "redis": redis.pid}
            report = uvloop.run(measure(args, live_port, floor_port, env, pids))
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
            redis.stop()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


if __name__ == "__main__":
    main()
