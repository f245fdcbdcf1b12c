"""Benchmark of bidding: bids per second on one auction against the floor of the stack, and
bid-to-`bid`-event delivery at many viewers, in one run.

    python -m loadtests.bench_bid [--seconds 8] [--rounds 4] [--viewers 2000]
                                  [--bid-rate 20] [--duration 10] [--client-procs 2]
                                  [--delivery-rounds 2]

Starts an embedded Redis, `live` and the bare Starlette floor (one Redis call per request),
each on uvicorn + uvloop + httptools with one worker (as loadtests/bench_buy.py does), then:
1. closed loop, 64 keep-alive connections, floor and bids in turns: requests per second of
   each and their ratio. Every bid is a fresh amount above the last (a challenger each time,
   so each accepted bid moves the price, emits a `bid` event and may extend the end);
   a bid overtaken by a concurrent one is refused (409 `bid_too_low`), counted apart.
2. `--viewers` websocket viewers on the auction's room (loadtests/bench_fanout.py client
   processes) while bids come at `--bid-rate` per second for `--duration` seconds: the
   delivery latency of the room's events (event `ts`, Redis's clock, to receipt). The
   same-run baseline is a second `live` on the same Redis with `[realtime] urgent_events`
   empty (every bid waits for its tick's end, as before bids were urgent); the two take
   turns, `--delivery-rounds` each, so both meet the same machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from live.auth import Identity, Role, TokenSigner
from live.redisdb.embedded import EmbeddedRedis, free_port
from loadtests.bench_buy import HOST, cpu_window, start_server, wait_up
from loadtests.bench_fanout import _measure, _start_clients
from loadtests.rawhttp import closed_loop, post

STEP_CENTS = 5_000  # above the largest increment: each new amount beats the last price
MAX_BIDS_PER_AUCTION = 19_000  # amounts stay under the price cap


class Auctions:
    """Opens auctions in one room and makes bid requests with ever higher amounts."""

    def __init__(self, port: int, admin: str, tokens: list[str]) -> None:
        self.http = httpx.Client(
            base_url=f"http://{HOST}:{port}", headers={"Authorization": f"Bearer {admin}"}
        )
        sku = "bench-" + secrets.token_hex(4)
        product = {"sku": sku, "title": "Bench lot", "price_cents": 990, "currency": "EUR"}
        self.http.post("/api/products", json=product).raise_for_status()
        room = self.http.post("/api/rooms", json={"title": "Bench", "host_name": "B"})
        room.raise_for_status()
        self.room_id: str = room.json()["room_id"]
        self.sku = sku
        self.tokens = tokens
        self.counter = itertools.count()
        self.auction_id = self.open()

    def open(self) -> str:
        body = {"sku": self.sku, "start_cents": 1000, "duration_s": 3600, "extend_s": 10}
        answer = self.http.post(f"/api/rooms/{self.room_id}/auctions", json=body)
        answer.raise_for_status()
        self.counter = itertools.count()
        return str(answer.json()["auction_id"])

    def next_bid(self) -> bytes:
        n = next(self.counter)
        amount = 1000 + n * STEP_CENTS
        token = self.tokens[n % len(self.tokens)]
        return post(
            f"/api/auctions/{self.auction_id}/bids",
            orjson.dumps({"amount_cents": amount}),
            {"Authorization": f"Bearer {token}", "Idempotency-Key": f"k{n}-{self.auction_id}"},
        )


async def closed_loops(
    args: argparse.Namespace, live_port: int, floor_port: int, auctions: Auctions, pids: Any
) -> dict[str, Any]:
    floor_body = post("/floor", b'{"qty":1}', {})
    phases = {
        "floor": (floor_port, lambda: floor_body, ("floor", "redis")),
        "bid": (live_port, auctions.next_bid, ("live", "redis")),
    }
    counts = dict.fromkeys(phases, 0.0)
    elapsed = dict.fromkeys(phases, 0.0)
    statuses: dict[int, int] = {}
    cpu = {name: dict.fromkeys(procs, 0.0) for name, (_, _, procs) in phases.items()}
    for _ in range(args.rounds):
        for name, (port, make, procs) in phases.items():
            if name == "bid":
                auctions.auction_id = auctions.open()  # one auction per round
            seconds = args.seconds / args.rounds
            window = cpu_window(pids, procs, cpu[name])
            rps, tally = await closed_loop(HOST, port, 64, seconds, 0.5, make, window)
            counts[name] += len(tally.latencies)
            elapsed[name] += len(tally.latencies) / rps if rps else seconds
            if name == "bid":
                for status, n in tally.statuses.items():
                    statuses[status] = statuses.get(status, 0) + n
                assert next(auctions.counter) < MAX_BIDS_PER_AUCTION, "rounds too long"
    floor_rps = counts["floor"] / elapsed["floor"]
    bid_rps = counts["bid"] / elapsed["bid"]
    return {
        "floor_rps": round(floor_rps),
        "bid_rps": round(bid_rps),
        "ratio": round(bid_rps / floor_rps, 3),
        "bid_statuses": statuses,
        "accepted_share": round(statuses.get(201, 0) / max(1, sum(statuses.values())), 3),
    }


def delivery(args: argparse.Namespace, live_port: int, auctions: Auctions, pid: int) -> Any:
    auctions.auction_id = auctions.open()
    url = f"ws://{HOST}:{live_port}/ws/rooms/{auctions.room_id}"
    clients = _start_clients(url, args)

    def drive() -> None:
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < args.duration:
            due = started + sent / args.bid_rate
            time.sleep(max(0.0, due - time.monotonic()))
            n = next(auctions.counter)
            auctions.http.post(
                f"/api/auctions/{auctions.auction_id}/bids",
                json={"amount_cents": 1000 + n * STEP_CENTS},
                headers={
                    "Authorization": f"Bearer {auctions.tokens[n % len(auctions.tokens)]}",
                    "Idempotency-Key": f"d{n}-{auctions.auction_id}",
                },
            )
            sent += 1

    report: dict[str, Any] = _measure(pid, clients, drive)
    report["viewers"] = args.viewers
    report["bid_rate"] = args.bid_rate
    return report


def delivery_turns(
    args: argparse.Namespace, servers: dict[str, tuple[int, Auctions, int]]
) -> dict[str, Any]:
    """Each server's delivery rounds, taking turns; per server its rounds and medians."""
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for _ in range(args.delivery_rounds):
        for name, (port, auctions, pid) in servers.items():
            rounds[name].append(delivery(args, port, auctions, pid))
    out: dict[str, Any] = {}
    for name, reports in rounds.items():
        out[name] = {
            "rounds": reports,
            **{
                f"median_{key}": statistics.median(r[key] for r in reports)
                for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--bidders", type=int, default=2000)
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--bid-rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--connect-rate", type=float, default=1000.0)
    parser.add_argument("--source-ips", type=int, default=1)
    parser.add_argument("--delivery-rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-bench-") as tmp:
        redis = EmbeddedRedis(Path(tmp), appendfsync="everysec")
        env = {
            **os.environ,
            "LIVE_REDIS_URL": redis.start(),
            "LIVE_ADMIN_TOKEN": secrets.token_urlsafe(16),
            "LIVE_AUTH_SECRET": secrets.token_urlsafe(16),
            "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
            "LIVE_LOGGING_LEVEL": "warning",
            "LIVE_REDIS_KEY_PREFIX": "bench",
        }
        live_port, floor_port, tick_port = free_port(), free_port(), free_port()
        # The baseline: the same server with no urgent events (every bid waits for its tick).
        tick_env = {**env, "LIVE_REALTIME_URGENT_EVENTS": ""}
        servers = [
            start_server("live.cli:app_from_environment", live_port, env),
            start_server("loadtests.floor_app:create_floor_app", floor_port, env),
            start_server("live.cli:app_from_environment", tick_port, tick_env),
        ]
        try:
            wait_up(live_port, "/healthz")
            wait_up(floor_port, "/")
            wait_up(tick_port, "/healthz")
            assert redis.pid is not None
            pids = {"live": servers[0].pid, "floor": servers[1].pid, "redis": redis.pid}
            signer = TokenSigner(env["LIVE_AUTH_SECRET"].encode(), None)
            tokens = [
                signer.issue(Identity(Role.VIEWER, f"u_b{n}", f"b{n}"), ttl_s=3600, now=time.time())
                for n in range(args.bidders)
            ]
            auctions = Auctions(live_port, env["LIVE_ADMIN_TOKEN"], tokens)
            report = {
                "closed_loop": uvloop.run(closed_loops(args, live_port, floor_port, auctions, pids))
            }
            baseline = Auctions(tick_port, env["LIVE_ADMIN_TOKEN"], tokens)
            report["delivery"] = delivery_turns(
                args,
                {
                    "urgent_bids": (live_port, auctions, servers[0].pid),
                    "tick_aligned_baseline": (tick_port, baseline, servers[2].pid),
                },
            )
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)
            redis.stop()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


if __name__ == "__main__":
    main()
