"""Room channel fan-out benchmark: N viewers on one room, over loopback.

    python -m loadtests.bench_fanout --viewers 1000 --duration 20 --workers 1
    python -m loadtests.bench_fanout --viewers 10000 --workers 8 --client-procs 6 \\
        --source-ips 4 --redis-server /path/to/redis-server
    python -m loadtests.bench_fanout --viewers 2000 --cluster --skip-baseline

It starts a Redis and `live serve`, connects N viewers from separate client processes
(`loadtests.rawws`: a minimal websocket client on asyncio protocols, no compression),
has the host chat at `--chat-rate` and a sale's stock change at `--stock-rate`, and
measures delivery latency (event `ts` to receipt), deliveries per second, seq gaps and
the server's CPU seconds. With `--cluster`, the same run measures live twice: on one Redis
and on a Redis Cluster of 3 primaries and 3 replicas (`[redis] mode = "cluster"`, started
by tests/redis_cluster.py). In the same run, a baseline: a bare `websockets` server that
sends the same events with `websockets.broadcast()`, one frame per event, to the same
number of clients. Prints one JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import orjson
import psutil

from live.redisdb.embedded import EmbeddedRedis, free_port
from live.settings import PROJECT_ROOT
from loadtests.rawws import Stats, connect_viewers

ADMIN = secrets.token_urlsafe(32)


# --- the client processes ------------------------------------------------------------
async def run_clients(url: str, viewers: int, rate: float, source_ips: list[str]) -> None:
    """Connect `viewers`, say READY, count between START and STOP, print the counts."""
    stats = Stats()
    conns = await connect_viewers(url, viewers, stats, rate, source_ips or None)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("READY", flush=True)
    await reader.readline()
    stats.counting = True
    cpu_before = _own_cpu()
    started = time.monotonic()
    await reader.readline()
    stats.counting = False
    elapsed = time.monotonic() - started
    report = stats.as_dict() | {"seconds": elapsed, "client_cpu_s": _own_cpu() - cpu_before}
    print(orjson.dumps(report).decode(), flush=True)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.abort()


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def raise_open_files() -> int:
    """Lift this process's (and its children's) open-file limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for wanted in (1_048_576, hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard)))
            return wanted
    return soft


# --- the baseline server ------------------------------------------------------------
async def run_baseline(port: int, chat_rate: float, stock_rate: float) -> None:
    """A bare websockets server: the same events, one frame each, via broadcast()."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

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

    async with serve(
        handler, "127.0.0.1", port, max_size=4096, ping_interval=None, compression=None
    ):
        print("READY", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.readline()
        producer = asyncio.create_task(produce())
        await reader.readline()
        producer.cancel()
        # Keep the connections open until the driver stops this process.
        await reader.readline()


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


def _source_ips(count: int) -> list[str]:
    """Loopback source addresses: each has its own ~28,000 ephemeral ports."""
    return [f"127.0.0.{n}" for n in range(1, count + 1)] if count > 1 else []


def _start_clients(url: str, args: argparse.Namespace) -> list[subprocess.Popen[str]]:
    """`--client-procs` processes sharing the viewers (and the connect rate) evenly."""
    procs = max(1, min(args.client_procs, args.viewers))
    ips = _source_ips(args.source_ips)
    clients = []
    for n in range(procs):
        viewers = args.viewers // procs + (n < args.viewers % procs)
        mine = (ips[n % len(ips) :: procs] or ips) if ips else []
        rate = args.connect_rate / procs
        clients.append(_spawn(["client", url, str(viewers), str(rate), ",".join(mine)]))
    for client in clients:
        _expect_ready(client)
    return clients


async def _drive_live(
    ws_url: str,
    room: dict[str, Any],
    redis_url: str,
    prefix: str,
    args: argparse.Namespace,
    mode: str = "single",
) -> None:
    """The host chats over its websocket; the sale's stock changes through Redis."""
    from websockets.asyncio.client import connect

    from live.redisdb.client import connect as redis_connect
    from live.redisdb.keys import Keys
    from live.redisdb.scripts import Scripts
    from live.settings import RedisSettings, Settings

    redis = redis_connect(redis_url, Settings(redis=RedisSettings(mode=mode)))
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
    server_pid: int, clients: list[subprocess.Popen[str]], drive: Any, settle_s: float = 1.0
) -> dict[str, Any]:
    for client in clients:
        _tell(client, "START")
    cpu_before = _cpu(server_pid)
    started = time.monotonic()
    drive()
    time.sleep(settle_s)
    server_cpu = _cpu(server_pid) - cpu_before
    wall = time.monotonic() - started
    for client in clients:
        _tell(client, "STOP")
    stats = Stats()
    client_cpu = 0.0
    seconds = 0.0
    for client in clients:
        assert client.stdout is not None
        part = orjson.loads(client.stdout.readline())
        stats.merge(part)
        client_cpu += part["client_cpu_s"]
        seconds = max(seconds, part["seconds"])
    for client in clients:
        client.wait(30)
    report = stats.summary(seconds)
    report["client_cpu_s"] = round(client_cpu, 2)
    report["server_cpu_s"] = round(server_cpu, 2)
    report["server_cpu_share"] = round(server_cpu / wall, 2)
    report["frames_per_cpu_s"] = round(report["frames"] / max(server_cpu, 1e-6))
    report["events_per_cpu_s"] = round(report["events"] / max(server_cpu, 1e-6))
    return report


def bench_live(args: argparse.Namespace, redis_url: str, mode: str = "single") -> dict[str, Any]:
    port = free_port()
    prefix = "bench" + secrets.token_hex(3)
    env = {
        **os.environ,
        "LIVE_REDIS_URL": redis_url,
        "LIVE_REDIS_MODE": mode,
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
        clients = _start_clients(f"{ws_url}/ws/rooms/{room['room_id']}", args)
        return _measure(
            server.pid,
            clients,
            lambda: asyncio.run(_drive_live(ws_url, room, redis_url, prefix, args, mode)),
        )
    finally:
        server.terminate()
        server.wait(30)


def bench_live_on_cluster(args: argparse.Namespace) -> dict[str, Any]:
    from tests.redis_cluster import TestRedisCluster

    cluster = TestRedisCluster()
    cluster.start()
    try:
        return bench_live(args, cluster.url, mode="cluster")
    finally:
        cluster.stop()


def _compare(single: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    """The cluster's figures as a share of one Redis's (1.0: the same)."""
    names = ("events_per_cpu_s", "frames_per_cpu_s", "deliveries_per_s")
    shares = {n: round(cluster[n] / max(single[n], 1e-9), 3) for n in names if n in single}
    for name in ("p50_ms", "p99_ms", "gaps"):
        if name in single and name in cluster:
            shares[name] = [single[name], cluster[name]]
    return shares


def bench_baseline(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    server = _spawn(["baseline", str(port), str(args.chat_rate), str(args.stock_rate)])
    try:
        _expect_ready(server)
        clients = _start_clients(f"ws://127.0.0.1:{port}/", args)

        def drive() -> None:
            _tell(server, "START")
            time.sleep(args.duration)
            _tell(server, "STOP")

        return _measure(server.pid, clients, drive)
    finally:
        server.terminate()
        server.wait(30)


def _use_redis_server(parser: argparse.ArgumentParser, binary: Path) -> None:
    """Make `binary` the `redis-server` that EmbeddedRedis finds on PATH."""
    binary = binary.absolute()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        parser.error(f"not an executable file: {binary}")
    folder = Path(tempfile.mkdtemp(prefix="bench-redis-bin-"))
    (folder / "redis-server").symlink_to(binary)
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


def _run_on_uvloop(coro: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop, as `live serve` does (the stdlib loop where uvloop is missing)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "client":
        ips = [ip for ip in argv[4].split(",") if ip] if len(argv) > 4 else []
        _run_on_uvloop(run_clients(argv[1], int(argv[2]), float(argv[3]), ips))
        return
    if argv and argv[0] == "baseline":
        _run_on_uvloop(run_baseline(int(argv[1]), float(argv[2]), float(argv[3])))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--chat-rate", type=float, default=10.0)
    parser.add_argument("--stock-rate", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--tick-ms", type=int, default=50)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument(
        "--immediate-first",
        action="store_true",
        help="send the first event of a quiet tick at once (default: every event waits)",
    )
    parser.add_argument(
        "--client-procs", type=int, default=1, help="client processes sharing the viewers"
    )
    parser.add_argument(
        "--connect-rate", type=float, default=1000.0, help="new connections per second, in all"
    )
    parser.add_argument(
        "--source-ips",
        type=int,
        default=1,
        help="spread client connections over 127.0.0.1..127.0.0.N (ports: ~28,000 per address)",
    )
    parser.add_argument(
        "--redis-server", help="the redis-server binary to start (default: the one on PATH)"
    )
    parser.add_argument("--redis-url", help="use this running Redis instead of starting one")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="also measure live on a 3-primary Redis Cluster, in the same run",
    )
    args = parser.parse_args(argv)
    open_files = raise_open_files()
    # The client processes share the viewers, but one worker may take most of them.
    if open_files < args.viewers + 100:
        print(f"warning: only {open_files} open files allowed", file=sys.stderr)
    if args.redis_server:
        _use_redis_server(parser, Path(args.redis_server))
    report: dict[str, Any] = {"config": vars(args), "cpus": os.cpu_count()}
    with contextlib.suppress(AttributeError):
        report["cpu_affinity"] = len(os.sched_getaffinity(0))
    if not args.skip_live:
        if args.redis_url:
            report["live"] = bench_live(args, args.redis_url)
        else:
            with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
                redis = EmbeddedRedis(Path(tmp))
                redis_url = redis.start()
                try:
                    report["live"] = bench_live(args, redis_url)
                finally:
                    redis.stop()
    if args.cluster:
        report["live_cluster"] = bench_live_on_cluster(args)
        if "live" in report:
            report["cluster_vs_single"] = _compare(report["live"], report["live_cluster"])
    if not args.skip_baseline:
        report["baseline"] = bench_baseline(args)
    if "live" in report and "baseline" in report:
        live, baseline = report["live"], report["baseline"]
        report["frames_ratio"] = round(
            live["frames_per_cpu_s"] / max(baseline["frames_per_cpu_s"], 1), 2
        )
        report["events_ratio"] = round(
            live["events_per_cpu_s"] / max(baseline["events_per_cpu_s"], 1), 2
        )
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
