"""Room channel fan-out benchmark: N viewers on one room, over loopback.

    python -m loadtests.bench_fanout --viewers 1000 --duration 20 --workers 1

It starts a Redis and `live serve`, connects N viewers from a separate client process,
has the host chat at `--chat-rate` and a sale's stock change at `--stock-rate`, and
measures delivery latency (event `ts` to receipt), deliveries per second, seq gaps and
the server's CPU seconds. In the same run, a baseline: a bare `websockets` server that
sends the same events with `websockets.broadcast()`, one frame per event, to the same
number of clients. Prints one JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import psutil

from live.redisdb.embedded import EmbeddedRedis, free_port
from live.settings import PROJECT_ROOT

ADMIN = "bench-admin-" + secrets.token_hex(8)


# --- the client process ---------------------------------------------------------------
class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.frames = 0
        self.events = 0
        self.gaps = 0
        self.closed = 0
        self.counting = False


async def _viewer(url: str, stats: Stats, ready: asyncio.Queue[None]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, open_timeout=120, max_size=None, ping_interval=None) as ws:
        last_seq: int | None = None
        first = True
        async for raw in ws:
            now = time.time() * 1000
            events = orjson.loads(raw)
            if first:
                first = False
                last_seq = events[0].get("seq")
                ready.put_nowait(None)
                continue
            for event in events:
                seq = event.get("seq")
                if seq is not None:
                    if last_seq is not None and seq != last_seq + 1:
                        stats.gaps += 1
                    last_seq = seq
                if stats.counting:
                    stats.latencies.append(now - event["ts"])
            if stats.counting:
                stats.frames += 1
                stats.events += len(events)
    stats.closed += 1


async def run_clients(url: str, viewers: int) -> None:
    """Connect `viewers`, say READY, count between START and STOP, print the stats."""
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    stats = Stats()
    ready: asyncio.Queue[None] = asyncio.Queue()
    tasks = []
    for n in range(viewers):
        tasks.append(asyncio.create_task(_viewer(url, stats, ready)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # a steady ramp, not a SYN flood
    for _ in range(viewers):
        await ready.get()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("READY", flush=True)
    await reader.readline()
    stats.counting = True
    started = time.monotonic()
    await reader.readline()
    stats.counting = False
    elapsed = time.monotonic() - started
    for task in tasks:
        task.cancel()
    own_cpu = sum(psutil.Process().cpu_times()[:2])
    print(orjson.dumps(_summary(stats, elapsed) | {"client_cpu_s": own_cpu}).decode(), flush=True)


def _summary(stats: Stats, elapsed: float) -> dict[str, Any]:
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else 0.0

    return {
        "seconds": round(elapsed, 2),
        "frames": stats.frames,
        "events": stats.events,
        "deliveries_per_s": round(stats.events / elapsed),
        "gaps": stats.gaps,
        "closed_early": stats.closed,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    }


# --- the baseline server ------------------------------------------------------------
async def run_baseline(port: int, chat_rate: float, stock_rate: float) -> None:
    """A bare websockets server: the same events, one frame each, via broadcast()."""
    import uvloop
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    clients: set[ServerConnection] = set()
    seq = 0

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            await ws.send(orjson.dumps([{"type": "snapshot", "seq": seq}]).decode())
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    async def produce() -> None:
        nonlocal seq
        loop = asyncio.get_running_loop()
        start = loop.time()
        chats = stocks = 0
        while True:
            now = loop.time() - start
            if chats / chat_rate <= now:
                seq += 1
                chats += 1
                broadcast(clients, orjson.dumps([_chat_event(seq, chats)]).decode())
            if stocks / stock_rate <= now:
                stocks += 1
                broadcast(clients, orjson.dumps([_stock_event(stocks)]).decode())
            await asyncio.sleep(min((chats / chat_rate), (stocks / stock_rate)) - now)

    async with serve(handler, "127.0.0.1", port, max_size=4096, ping_interval=None):
        print("READY", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.readline()
        producer = asyncio.create_task(produce())
        await reader.readline()
        producer.cancel()


def _chat_event(seq: int, n: int) -> dict[str, Any]:
    return {
        "type": "chat",
        "seq": seq,
        "ts": int(time.time() * 1000),
        "user_id": "h_bench",
        "name": "Lin",
        "text": f"message {n}: this linen breathes well in summer",
        "msg_id": f"m_{n}",
    }


def _stock_event(n: int) -> dict[str, Any]:
    left = 10_000 - n
    return {
        "type": "stock",
        "ts": int(time.time() * 1000),
        "sale_id": "s_bench",
        "left": left,
        "held": n % 7,
        "sold": n,
    }


# --- the driver -----------------------------------------------------------------------
def _api(base: str, path: str, token: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        base + path,
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return orjson.loads(answer.read())


def _wait_healthy(base: str) -> None:
    for _ in range(300):
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(base + "/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def _cpu(pid: int) -> float:
    """CPU seconds of a process and all its children (uvicorn's workers)."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _spawn(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "loadtests.bench_fanout", *args],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _expect_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "READY":
        raise RuntimeError(f"expected READY, got {line!r}")


def _tell(process: subprocess.Popen[str], line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()


async def _drive_live(
    ws_url: str, room: dict[str, Any], redis_url: str, prefix: str, args: argparse.Namespace
) -> None:
    """The host chats over its websocket; the sale's stock changes through Redis."""
    from websockets.asyncio.client import connect

    from live.redisdb.client import connect as redis_connect
    from live.redisdb.keys import Keys
    from live.redisdb.scripts import Scripts
    from live.settings import Settings

    redis = redis_connect(redis_url, Settings())
    scripts = Scripts(redis)
    keys = Keys(prefix)
    rid = room["room_id"]
    room_keys = [keys.room_seq(rid), keys.room_history(rid), keys.room_channel(rid)]
    url = f"{ws_url}/ws/rooms/{rid}?token={room['host_token']}"
    async with connect(url, max_size=None) as host:
        drain = asyncio.create_task(_drain(host))
        loop = asyncio.get_running_loop()
        start = loop.time()
        chats = stocks = 0
        while loop.time() - start < args.duration:
            now = loop.time() - start
            if chats / args.chat_rate <= now:
                chats += 1
                text = f"message {chats}: this linen breathes well in summer"
                await host.send(orjson.dumps({"type": "chat", "text": text}).decode())
            if stocks / args.stock_rate <= now:
                stocks += 1
                stock = _stock_event(stocks)
                del stock["ts"]
                await scripts.call("room_event", room_keys, ["volatile", orjson.dumps(stock), 1000])
            await asyncio.sleep(max(0, min(chats / args.chat_rate, stocks / args.stock_rate) - now))
        # Close while the drain still reads, so the server's close frame is read at once.
        await host.close()
        await drain
    await redis.aclose()


async def _drain(ws: Any) -> None:
    async for _ in ws:
        pass


def _measure(
    server_pid: int, clients: subprocess.Popen[str], drive: Any, settle_s: float = 1.0
) -> dict[str, Any]:
    _tell(clients, "START")
    cpu_before = _cpu(server_pid)
    started = time.monotonic()
    drive()
    time.sleep(settle_s)
    server_cpu = _cpu(server_pid) - cpu_before
    wall = time.monotonic() - started
    _tell(clients, "STOP")
    assert clients.stdout is not None
    report: dict[str, Any] = orjson.loads(clients.stdout.readline())
    clients.wait(30)
    report["server_cpu_s"] = round(server_cpu, 2)
    report["server_cpu_share"] = round(server_cpu / wall, 2)
    report["frames_per_cpu_s"] = round(report["frames"] / max(server_cpu, 1e-6))
    report["events_per_cpu_s"] = round(report["events"] / max(server_cpu, 1e-6))
    return report


def bench_live(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    port = free_port()
    prefix = "bench" + secrets.token_hex(3)
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_url,
        "LIVE_ADMIN_TOKEN": ADMIN,
        "LIVE_REDIS_KEY_PREFIX": prefix,
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_REALTIME_TICK_MS": str(args.tick_ms),
        "LIVE_LIMITS_EXEMPT_NETWORKS": "127.0.0.0/8",
        "LIVE_REALTIME_IMMEDIATE_FIRST": "true" if args.immediate_first else "false",
    }
    command = ["-m", "live.cli", "serve", "--port", str(port), "--workers", str(args.workers)]
    server = subprocess.Popen(
        [sys.executable, *command],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        room = _api(base, "/api/rooms", ADMIN, {"title": "Bench", "host_name": "Lin"})
        ws_url = f"ws://127.0.0.1:{port}"
        clients = _spawn(["client", f"{ws_url}/ws/rooms/{room['room_id']}", str(args.viewers)])
        _expect_ready(clients)
        return _measure(
            server.pid,
            clients,
            lambda: asyncio.run(_drive_live(ws_url, room, redis_url, prefix, args)),
        )
    finally:
        server.terminate()
        server.wait(30)


def bench_baseline(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    server = _spawn(["baseline", str(port), str(args.chat_rate), str(args.stock_rate)])
    try:
        _expect_ready(server)
        clients = _spawn(["client", f"ws://127.0.0.1:{port}/", str(args.viewers)])
        _expect_ready(clients)

        def drive() -> None:
            _tell(server, "START")
            time.sleep(args.duration)
            _tell(server, "STOP")

        return _measure(server.pid, clients, drive)
    finally:
        server.terminate()
        server.wait(30)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "client":
        asyncio.run(run_clients(argv[1], int(argv[2])))
        return
    if argv and argv[0] == "baseline":
        asyncio.run(run_baseline(int(argv[1]), float(argv[2]), float(argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--chat-rate", type=float, default=10.0)
    parser.add_argument("--stock-rate", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tick-ms", type=int, default=50)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--immediate-first",
        action="store_true",
        help="send the first event of a quiet tick at once (default: every event waits)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        redis = EmbeddedRedis(Path(tmp))
        redis_url = redis.start()
        try:
            live = bench_live(args, redis_url)
        finally:
            redis.stop()
    report: dict[str, Any] = {"config": vars(args), "live": live}
    if not args.skip_baseline:
        baseline = bench_baseline(args)
        report["baseline"] = baseline
        report["frames_ratio"] = round(
            live["frames_per_cpu_s"] / max(baseline["frames_per_cpu_s"], 1), 2
        )
        report["events_ratio"] = round(
            live["events_per_cpu_s"] / max(baseline["events_per_cpu_s"], 1), 2
        )
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
