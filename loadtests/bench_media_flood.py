"""Media flood: a real `live serve` under rounds of WHEP offers that never connect (issue
19 finding 2), and its memory before, during and after each round's clean-up.

Each round sends `--offers` offers from this one address, `--concurrency` at a time, waits
until the server has reclaimed every session (`live_media_sessions` back to 0 in /metrics)
and one memory-trim period (live.media.memory), then reads the server's RSS. `/healthz` is
timed all the while. By default the server's own limits apply (`[media]
max_sessions_per_ip`: most offers get 429); `--exempt` lifts them for this address
(`[limits] exempt_networks`, as for a load generator), so every offer costs a peer
connection.

    python -m loadtests.bench_media_flood --offers 1500 --rounds 3
    python -m loadtests.bench_media_flood --offers 300 --rounds 3 --exempt
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiortc import RTCConfiguration, RTCPeerConnection

ROOT = Path(__file__).resolve().parent.parent
ADMIN = secrets.token_urlsafe(32)
SDP = {"Content-Type": "application/sdp"}
VIEWER_SESSIONS = re.compile(r'^live_media_sessions\{role="viewer"\} (\S+)$', re.MULTILINE)
# One trim period of live.media.memory, and a heartbeat for its check to run.
SETTLE_S = 6.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def offer_sdp() -> str:
    """A browser-like WHEP offer (audio and video, a DTLS fingerprint) from aiortc."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    for kind in ("video", "audio"):
        pc.addTransceiver(kind, direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


def start(port: int, redis_dir: str, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVE_")}
    env |= {
        "LIVE_ADMIN_TOKEN": ADMIN,
        "LIVE_REDIS_EMBEDDED_DIR": redis_dir,
        "LIVE_LOGGING_LEVEL": "warning",
    }
    if args.exempt:
        env["LIVE_LIMITS_EXEMPT_NETWORKS"] = "127.0.0.0/8"
    if args.per_ip:
        env["LIVE_MEDIA_MAX_SESSIONS_PER_IP"] = str(args.per_ip)
    if args.connect_timeout:
        env["LIVE_MEDIA_CONNECT_TIMEOUT_S"] = str(args.connect_timeout)
    command = [sys.executable, "-m", "live.cli", "serve", "--port", str(port)]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def healthy(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server never became healthy")


async def viewer_sessions(http: httpx.AsyncClient) -> float:
    found = VIEWER_SESSIONS.search((await http.get("/metrics")).text)
    return 0.0 if found is None else float(found.group(1))


def sockets(server: psutil.Process) -> dict[str, int]:
    """The server's sockets by kind: UDP ones are ICE candidates' (and the relay link's),
    Unix ones the embedded Redis's connections."""
    names = {socket.AF_UNIX: "unix", socket.SOCK_DGRAM: "udp"}
    kinds = collections.Counter(
        names.get(c.family, names.get(c.type, "tcp")) for c in server.net_connections("all")
    )
    return dict(sorted(kinds.items()))


async def reclaimed(http: httpx.AsyncClient) -> None:
    """Until the server holds no viewer session."""
    for _ in range(1500):  # 5 minutes: far past `[media] connect_timeout_s`
        if not await viewer_sessions(http):
            return
        await asyncio.sleep(0.2)
    raise SystemExit("the flood's sessions were never reclaimed")


class Watch:
    """Peak RSS of the server and the slowest /healthz while a round runs."""

    def __init__(self, server: psutil.Process, base: str) -> None:
        self.server, self.base = server, base
        self.peak_rss = 0
        self.slowest_healthz_s = 0.0

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            while True:
                self.peak_rss = max(self.peak_rss, self.server.memory_info().rss)
                started = time.perf_counter()
                await http.get("/healthz")
                self.slowest_healthz_s = max(self.slowest_healthz_s, time.perf_counter() - started)
                await asyncio.sleep(0.1)


async def one_round(
    http: httpx.AsyncClient, url: str, offer: str, args: argparse.Namespace, watch: Watch
) -> dict[str, Any]:
    gate = asyncio.Semaphore(args.concurrency)

    async def one() -> int | str:
        async with gate:
            try:
                return (await http.post(url, content=offer, headers=SDP)).status_code
            except httpx.TransportError as exc:
                # A kept-alive connection the server closed as it was reused.
                return type(exc).__name__

    watcher = asyncio.create_task(watch.run())
    started = time.monotonic()
    codes = collections.Counter(await asyncio.gather(*(one() for _ in range(args.offers))))
    sent_s = time.monotonic() - started
    await reclaimed(http)
    reclaimed_s = time.monotonic() - started
    await asyncio.sleep(SETTLE_S)
    watcher.cancel()
    return {
        "codes": dict(sorted(codes.items(), key=str)),
        "sent_s": round(sent_s, 1),
        "reclaimed_s": round(reclaimed_s, 1),
        "peak_mb": round(watch.peak_rss / 1e6, 1),
        "after_mb": round(watch.server.memory_info().rss / 1e6, 1),
        "slowest_healthz_ms": round(watch.slowest_healthz_s * 1000, 1),
        "fds_after": watch.server.num_fds(),
        "sockets_after": sockets(watch.server),
    }


async def flood(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="live-flood-") as redis_dir:
        process = start(port, redis_dir, args)
        try:
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                await healthy(http)
                server = psutil.Process(process.pid)
                auth = {"Authorization": f"Bearer {ADMIN}"}
                room = await http.post(
                    "/api/rooms", json={"title": "flood", "host_name": "h"}, headers=auth
                )
                url = f"/api/rooms/{room.json()['room_id']}/whep"
                offer = await offer_sdp()
                cold_mb = round(server.memory_info().rss / 1e6, 1)
                # A first few sessions (lazily loaded codecs and DTLS, first Redis scripts),
                # reclaimed, so that the start is the server as it serves, not as it booted.
                for _ in range(args.warmup):
                    await http.post(url, content=offer, headers=SDP)
                await reclaimed(http)
                await asyncio.sleep(SETTLE_S if args.warmup else 0)
                result: dict[str, Any] = {
                    "cold_mb": cold_mb,
                    "warmup": args.warmup,
                    "offers": args.offers,
                    "concurrency": args.concurrency,
                    "exempt": args.exempt,
                    "per_ip": args.per_ip or "default",
                    "start_mb": round(server.memory_info().rss / 1e6, 1),
                    "fds_start": server.num_fds(),
                    "sockets_start": sockets(server),
                    "rounds": [],
                }
                for _ in range(args.rounds):
                    watch = Watch(server, base)
                    result["rounds"].append(await one_round(http, url, offer, args, watch))
                    print(json.dumps(result["rounds"][-1]), flush=True)
                last = result["rounds"][-1]["after_mb"]
                result["after_over_start"] = round(last / result["start_mb"], 3)
                return result
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5, help="offers before the start")
    parser.add_argument("--per-ip", type=int, default=0, help="[media] max_sessions_per_ip")
    parser.add_argument("--connect-timeout", type=float, default=0, help="seconds")
    parser.add_argument("--exempt", action="store_true", help="lift the per-address limits")
    result = asyncio.run(flood(parser.parse_args()))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
