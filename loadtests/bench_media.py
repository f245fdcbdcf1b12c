"""Media benchmark: server CPU and memory per viewer, forwarding vs aiortc's stock relay.

One publisher (640x480 VP8, 30 fps, about 1 Mbit/s, a pre-encoded loop with a keyframe
every 2 s) sends by WHIP; N viewers in another process receive by WHEP without decoding.
The server's CPU seconds per second and RSS are read from /proc. In the same run:

- `live serve` (forwarding encoded frames), at each N in --viewers;
- aiortc's stock `MediaRelay` (decode once, encode per viewer) behind the same WHIP/WHEP
  exchange, at each N in --stock-viewers;
- latency (frame handed to the publisher's sender -> complete frame at the viewer), p50
  and p99, through `live` and over a direct publisher-to-viewer connection.

With `--workers 1,2` the `live` part runs once per worker count, each a `live serve
--workers N`: the viewers' offers go out on fresh connections, so they spread over the
workers; the publisher's worker is the room's origin, the others pull the room over the
relay link. Per worker: viewers, CPU, CPU per viewer, latency; and the origin's CPU cost of
one relay link (publisher only, then one viewer on another worker), and the relay lag
(origin's send to the edge's receipt) from /metrics.

With `--record on,off --runs 3` the `live` part runs three times with recording on and
off, interleaved (on, off, on, off, ...): CPU per viewer and latency with their
run-to-run spread for each, and the recording's own cost per room (the publisher-only
CPU with it on, less off) and its disk bytes per minute.

With `--nodes N` (N >= 2) the `live` part also runs over N one-worker nodes on one Redis
(each its own `live serve`, node id, advertise URL and relay link, one `[node] secret`):
the publisher on the first node (the origin), the viewers spread over the others, each of
which pulls the room once over a sealed relay link between nodes. The same figures per
process, the origin's cost of one link to another node, and the lag between nodes
(`live_node_relay_lag_seconds`).

    python -m loadtests.bench_media --viewers 10,50 --stock-viewers 5,10
    python -m loadtests.bench_media --workers 1,2 --viewers 200 --stock-viewers ""
    python -m loadtests.bench_media --viewers 50 --stock-viewers "" --record on,off --runs 3
    python -m loadtests.bench_media --workers 1 --nodes 2 --viewers 100 --stock-viewers ""
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench_vp8_640x480_1mbps.pickle"
FPS = 30
LOOP_FRAMES = 300
GOP = 60
ADMIN = secrets.token_urlsafe(32)


# --- the pre-encoded stream ---------------------------------------------------------
def encoded_loop() -> list[bytes]:
    """300 VP8 frames at 640x480 (cached): a moving gradient and a noisy block."""
    if CACHE.exists():
        frames: list[bytes] = pickle.loads(CACHE.read_bytes())
        return frames
    import av

    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 640, 480, "yuv420p"
    codec.bit_rate = 1_000_000
    codec.framerate = Fraction(FPS, 1)
    codec.time_base = Fraction(1, FPS)
    codec.gop_size = GOP
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    gradient = bytes(range(256)) * 20
    frames = []
    for i in range(LOOP_FRAMES):
        frame = av.VideoFrame(width=640, height=480, format="yuv420p")
        row = gradient[(i * 4) % 256 : (i * 4) % 256 + 640]
        luma = bytearray(row * 480)
        noise = os.urandom(160 * 120)
        for y in range(120):
            start = (180 + y) * 640 + 240
            luma[start : start + 160] = noise[y * 160 : (y + 1) * 160]
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(bytes([128]) * frame.planes[1].buffer_size)
        frame.planes[2].update(bytes([128]) * frame.planes[2].buffer_size)
        frame.pts = i
        for packet in codec.encode(frame):
            frames.append(bytes(packet))
    for packet in codec.encode(None):
        frames.append(bytes(packet))
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(pickle.dumps(frames[:LOOP_FRAMES]))
    return frames[:LOOP_FRAMES]


def frame_index(frames: list[bytes]) -> dict[bytes, int]:
    return {hashlib.blake2b(f, digest_size=8).digest(): i for i, f in enumerate(frames)}


# --- peers ----------------------------------------------------------------------------
def loop_track(frames: list[bytes], sent_at: Any) -> Any:
    from aiortc.mediastreams import MediaStreamTrack

    from live.media.tracks import make_packet

    class LoopTrack(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.start: float | None = None

        async def recv(self) -> Any:
            if self.start is None:
                self.start = time.monotonic()
            await asyncio.sleep(max(0.0, self.start + self.n / FPS - time.monotonic()))
            index = self.n % LOOP_FRAMES
            sent_at[index] = time.time()
            packet = make_packet(frames[index], self.n * (90000 // FPS), "video")
            self.n += 1
            return packet

    return LoopTrack()


async def exchange(http: httpx.AsyncClient, url: str, pc: Any, token: str | None) -> str:
    """Offer and answer; the pid of the worker that answered (when the server says)."""
    from aiortc import RTCSessionDescription

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await http.post(url, content=pc.localDescription.sdp, headers=headers)
    answer.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
    worker: str = answer.headers.get(WORKER, "")
    return worker


def new_pc() -> Any:
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


WORKER = "x-live-media-worker"


def run_publisher(
    base: str, path: str, token: str | None, sent_at: Any, stop: Any, out: Any
) -> None:
    async def main() -> None:
        frames = encoded_loop()
        pc = new_pc()
        pc.addTransceiver(loop_track(frames, sent_at), direction="sendonly")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            worker = await exchange(http, path, pc, token)
        out.put(worker)
        await asyncio.to_thread(stop.wait)
        await pc.close()

    asyncio.run(main())


class Counter:
    """Frames received by the viewers of one process, and latencies of known frames."""

    def __init__(self, index: dict[bytes, int], sent_at: Any) -> None:
        self.frames = 0
        self.index = index
        self.sent_at = sent_at
        self.latencies: list[float] = []

    def __call__(self, frame: Any, ssrc: int) -> None:
        self.frames += 1
        position = self.index.get(hashlib.blake2b(frame.data, digest_size=8).digest())
        if position is not None:
            self.latencies.append(time.time() - self.sent_at[position])


def count_rtp_only(pc: Any, on_marker: Any) -> None:
    """A light viewer: SRTP packets are counted from their clear RTP header and dropped.

    Frames are counted on the marker bit, with no decryption, parsing, jitter buffer,
    NACK or receiver report; STUN (consent) and DTLS still reach aiortc. This keeps the
    receiving processes cheap so the server is what the latency figures measure.
    """
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport._connection
        for protocol in connection._protocols:
            original = protocol.datagram_received

            def received(data: bytes, addr: Any, original: Any = original) -> None:
                if len(data) > 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223:
                    if data[1] & 0x80:
                        on_marker()
                    return
                original(data, addr)

            protocol.datagram_received = received


def full_viewers(size: int, full: int) -> set[int]:
    """Which of a process's viewers decrypt and time frames: spread over its range."""
    full = min(size, full)
    return {round((k + 1) * size / full) - 1 for k in range(full)} if full else set()


def run_viewers(base: str, path: str, n: int, full: int, sent_at: Any, stop: Any, out: Any) -> None:
    from live.media import aiortc_private

    async def main() -> None:
        index = frame_index(encoded_loop())
        counters: dict[str, Counter] = {}
        pcs = []
        seen: list[int] = [0] * n
        all_seen = asyncio.Event()
        timed = full_viewers(n, full)
        viewers_of: dict[str, int] = {}
        # A fresh connection per offer, so that offers spread over the server's workers.
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=fresh) as http:
            for i in range(n):
                # This viewer's worker's counter, once the answer says which worker it is.
                mine = [Counter(index, sent_at)]
                pc = new_pc()
                video = pc.addTransceiver("video", direction="recvonly")

                def saw(i: int = i) -> None:
                    seen[i] += 1
                    if seen[i] == 1 and all(seen):
                        all_seen.set()

                def sink(frame: Any, ssrc: int, saw: Any = saw, mine: Any = mine) -> None:
                    saw()
                    mine[0](frame, ssrc)

                def marker(saw: Any = saw, mine: Any = mine) -> None:
                    saw()
                    mine[0].frames += 1

                if i in timed:
                    aiortc_private.tap_encoded_frames(video.receiver, "video", sink)
                worker = await exchange(http, path, pc, None)
                mine[0] = counters.setdefault(worker, mine[0])
                if i not in timed:
                    count_rtp_only(pc, marker)
                viewers_of[worker] = viewers_of.get(worker, 0) + 1
                pcs.append(pc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_seen.wait(), 60)
        out.put(("ready", sum(1 for s in seen if s), viewers_of))
        for counter in counters.values():
            counter.frames, counter.latencies = 0, []
        started = time.monotonic()
        await asyncio.to_thread(stop.wait)
        elapsed = time.monotonic() - started
        by_worker = {w: (c.frames / elapsed, c.latencies) for w, c in counters.items()}
        out.put(("done", by_worker))
        for pc in pcs:
            await pc.close()

    asyncio.run(main())


# --- the stock-relay server -----------------------------------------------------------
def stock_server(port: int) -> None:
    """aiortc's MediaRelay: the publisher's track decoded once, encoded for every viewer."""
    import uvicorn
    from aiortc import RTCSessionDescription
    from aiortc.contrib.media import MediaRelay
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    relay = MediaRelay()
    source: list[Any] = []
    pcs: set[Any] = set()

    async def answer(pc: Any, request: Request) -> Response:
        await pc.setRemoteDescription(
            RTCSessionDescription((await request.body()).decode(), "offer")
        )
        await pc.setLocalDescription(await pc.createAnswer())
        return Response(pc.localDescription.sdp, 201, media_type="application/sdp")

    async def whip(request: Request) -> Response:
        pc = new_pc()
        pcs.add(pc)
        pc.on("track", source.append)
        return await answer(pc, request)

    async def whep(request: Request) -> Response:
        pc = new_pc()
        pcs.add(pc)
        pc.addTrack(relay.subscribe(source[-1], buffered=False))
        return await answer(pc, request)

    async def health(request: Request) -> Response:
        return Response("ok")

    app = Starlette(
        routes=[
            Route("/whip", whip, methods=["POST"]),
            Route("/whep", whep, methods=["POST"]),
            Route("/healthz", health),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop")


# --- measuring -------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample(pid: int, seconds: float) -> tuple[float, float]:
    """CPU seconds per second over `seconds`, and RSS at the end (MB)."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started), rss_mb(pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def new_room(base: str) -> dict[str, Any]:
    """A room for the run, made with the admin token (its id and host token)."""
    room: dict[str, Any] = httpx.post(
        base + "/api/rooms",
        json={"title": "bench", "host_name": "bench"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()
    return room


def wait_healthy(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def worker_pids(server_pid: int, workers: int, timeout: float = 30) -> list[int]:
    """The processes serving requests: `live serve` itself, or its N worker processes."""
    if workers <= 1:
        return [server_pid]
    deadline = time.monotonic() + timeout
    while True:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
        # uvicorn's workers (multiprocessing's spawn); not the embedded Redis, nor
        # multiprocessing's resource tracker.
        pids = [
            int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        if len(pids) >= workers or time.monotonic() > deadline:
            return sorted(pids)
        time.sleep(0.2)


def sample_many(pids: list[int], seconds: float) -> tuple[dict[int, float], float]:
    """CPU seconds per second of each process over `seconds`, and their RSS (MB)."""
    before, started = {p: cpu_seconds(p) for p in pids}, time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu = {p: (cpu_seconds(p) - before[p]) / elapsed for p in pids}
    return cpu, sum(rss_mb(p) for p in pids)


LAG_BUCKET = "live_media_relay_lag_seconds_bucket"
NODE_LAG_BUCKET = "live_node_relay_lag_seconds_bucket"


def relay_lag_buckets(bases: list[str], metric: str = LAG_BUCKET) -> dict[float, float]:
    """A lag histogram's cumulative buckets from /metrics, summed over `bases`."""
    buckets: dict[float, float] = {}
    for base in bases:
        try:
            text = httpx.get(base + "/metrics", timeout=10).text
        except httpx.HTTPError:
            continue
        _add_buckets(buckets, text, metric)
    return buckets


def _add_buckets(buckets: dict[float, float], text: str, metric: str) -> None:
    for line in text.splitlines():
        if line.startswith(metric):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The upper bound (ms) of the bucket holding quantile `q` of what was added."""
    added = {b: after.get(b, 0.0) - before.get(b, 0.0) for b in after}
    total = added.get(float("inf"), 0.0)
    if total <= 0:
        return float("nan")
    for bound in sorted(added):
        if added[bound] >= q * total:
            return bound * 1000
    return float("inf")


def run_probe(base: str, path: str, origin: str, stop: Any, out: Any) -> None:
    """One viewer on a worker other than `origin` (offers again until one lands there)."""

    async def main() -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=fresh) as http:
            for _ in range(100):
                pc = new_pc()
                pc.addTransceiver("video", direction="recvonly")
                worker = await exchange(http, path, pc, None)
                if worker != origin:
                    out.put(worker)
                    await asyncio.to_thread(stop.wait)
                    await pc.close()
                    return
                await pc.close()
        out.put("")

    asyncio.run(main())


def measure(
    name: str,
    server: subprocess.Popen[bytes],
    base: str,
    whip: str,
    whep: str,
    token: str | None,
    counts: list[int],
    seconds: float,
    per_process: int,
    full: int,
    workers: int = 1,
    nodes: list[tuple[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """`nodes`: the other nodes (base URL, pid), whose processes take the viewers; else
    the viewers go to `base` (over its `workers`)."""
    ctx = mp.get_context("fork")
    sent_at = ctx.Array("d", LOOP_FRAMES, lock=False)
    stop_publisher, publisher_out = ctx.Event(), ctx.Queue()
    publisher = ctx.Process(
        target=run_publisher, args=(base, whip, token, sent_at, stop_publisher, publisher_out)
    )
    publisher.start()
    pids = worker_pids(server.pid, workers) + [pid for _, pid in nodes or []]
    viewer_bases = [b for b, _ in nodes] if nodes else [base]
    lag_bases, lag_metric = (viewer_bases, NODE_LAG_BUCKET) if nodes else ([base], LAG_BUCKET)
    origin = int(publisher_out.get(timeout=60) or server.pid)
    label = f"{name} ({workers} worker{'s' if workers > 1 else ''})"
    if nodes:
        label = f"{name} ({len(nodes) + 1} nodes)"
    time.sleep(3)
    idle, idle_rss = sample_many(pids, seconds / 2)
    rows: list[dict[str, Any]] = [
        {
            "relay": name,
            "workers": workers,
            "viewers": 0,
            "cpu": sum(idle.values()),
            "rss_mb": idle_rss,
        }
    ]
    print(
        f"{label}: publisher only: {sum(idle.values()) * 100:.1f}% CPU, {idle_rss:.0f} MB",
        flush=True,
    )
    link_cost = None
    if workers > 1 or nodes:
        # The origin's cost of one relay link: one viewer on another worker (or node),
        # none on it.
        stop_probe, probe_out = ctx.Event(), ctx.Queue()
        probe_args = (viewer_bases[0], whep, str(origin), stop_probe, probe_out)
        probe = ctx.Process(target=run_probe, args=probe_args)
        probe.start()
        probe_out.get(timeout=120)
        time.sleep(2)
        with_link, _ = sample_many([origin], 2 * seconds)
        link_cost = with_link[origin] - idle[origin]
        stop_probe.set()
        probe.join(30)
        print(f"{label}: the origin with one relay link: +{link_cost * 100:.2f}% CPU", flush=True)
        time.sleep(2)
        idle, _ = sample_many(pids, seconds)
    for n in counts:
        stop, out = ctx.Event(), ctx.Queue()
        sizes = [per_process] * (n // per_process) + ([n % per_process] if n % per_process else [])
        processes = [
            ctx.Process(
                target=run_viewers,
                args=(viewer_bases[i % len(viewer_bases)], whep, size, full, sent_at, stop, out),
            )
            for i, size in enumerate(sizes)
        ]
        for process in processes:
            process.start()
        ready = 0
        viewers_of: dict[int, int] = {}
        for _ in processes:
            _, receiving, spread = out.get(timeout=180)
            ready += receiving
            for worker, count in spread.items():
                pid = int(worker or server.pid)
                viewers_of[pid] = viewers_of.get(pid, 0) + count
        time.sleep(1)
        lag_before = relay_lag_buckets(lag_bases, lag_metric)
        receivers_before = sum(cpu_seconds(p.pid) for p in processes if p.pid)
        started = time.monotonic()
        cpu_of, rss = sample_many(pids, seconds)
        receivers_cpu = (sum(cpu_seconds(p.pid) for p in processes if p.pid) - receivers_before) / (
            time.monotonic() - started
        )
        lag_after = relay_lag_buckets(lag_bases, lag_metric)
        stop.set()
        fps_of: dict[int, float] = {}
        latencies_of: dict[int, list[float]] = {}
        for _ in processes:
            _, by_worker = out.get(timeout=60)
            for worker, (process_fps, process_latencies) in by_worker.items():
                pid = int(worker or server.pid)
                fps_of[pid] = fps_of.get(pid, 0.0) + process_fps
                latencies_of.setdefault(pid, []).extend(process_latencies)
        for process in processes:
            process.join(30)
        cpu = sum(cpu_of.values())
        fps = sum(fps_of.values())
        latencies = [x for values in latencies_of.values() for x in values]
        by_worker_rows = []
        for pid in pids:
            viewers = viewers_of.get(pid, 0)
            worker_cpu = cpu_of[pid] - idle[pid]
            lat = latencies_of.get(pid, [])
            by_worker_rows.append(
                {
                    "pid": pid,
                    "role": "origin" if pid == origin else "edge",
                    "viewers": viewers,
                    "cpu": cpu_of[pid],
                    "cpu_per_viewer": worker_cpu / viewers if viewers else float("nan"),
                    "fps_per_viewer": fps_of.get(pid, 0.0) / viewers if viewers else 0.0,
                    "latency_p50_ms": percentile(lat, 0.5) * 1000,
                    "latency_p99_ms": percentile(lat, 0.99) * 1000,
                    "latency_samples": len(lat),
                }
            )
        row: dict[str, Any] = {
            "relay": name,
            "workers": workers,
            "nodes": len(nodes) + 1 if nodes else 1,
            "viewers": n,
            "receiving": ready,
            "cpu": cpu,
            "rss_mb": rss,
            "cpu_per_viewer": (cpu - sum(idle.values())) / n,
            # CPU per viewer scaled to a full 30 fps, for a relay that could not keep up.
            "cpu_per_viewer_at_30fps": (cpu - sum(idle.values())) / n * FPS / max(0.1, fps / n),
            "mb_per_viewer": (rss - idle_rss) / n,
            "fps_per_viewer": fps / n,
            "latency_p50_ms": percentile(latencies, 0.5) * 1000,
            "latency_p99_ms": percentile(latencies, 0.99) * 1000,
            "timed_viewers": sum(len(full_viewers(size, full)) for size in sizes),
            "latency_samples": len(latencies),
            # The receiving processes together (they share the machine with the server).
            "receivers_cpu": receivers_cpu,
            "by_worker": by_worker_rows,
            "relay_lag_p50_ms": bucket_quantile(lag_before, lag_after, 0.5),
            "relay_lag_p99_ms": bucket_quantile(lag_before, lag_after, 0.99),
            "origin_cpu_per_link": link_cost,
        }
        rows.append(row)
        print(
            f"{label}: {n} viewers ({ready} receiving, {row['fps_per_viewer']:.1f} fps each): "
            f"{cpu * 100:.1f}% CPU, {row['cpu_per_viewer'] * 100:.2f}% per viewer "
            f"({row['cpu_per_viewer_at_30fps'] * 100:.2f}% at 30 fps), "
            f"{row['mb_per_viewer']:.2f} MB per viewer, latency p50 "
            f"{row['latency_p50_ms']:.1f} ms p99 {row['latency_p99_ms']:.1f} ms "
            f"({row['timed_viewers']} timed viewers), receivers {receivers_cpu * 100:.0f}% CPU",
            flush=True,
        )
        if workers > 1 or nodes:
            for w in by_worker_rows:
                print(
                    f"  {w['role']} {w['pid']}: {w['viewers']} viewers, {w['cpu'] * 100:.1f}% CPU,"
                    f" {w['cpu_per_viewer'] * 100:.3f}% per viewer, {w['fps_per_viewer']:.1f} fps,"
                    f" latency p50 {w['latency_p50_ms']:.1f} ms p99 {w['latency_p99_ms']:.1f} ms",
                    flush=True,
                )
            print(
                f"  relay lag (origin send -> edge receipt, bucket bound): p50 "
                f"{row['relay_lag_p50_ms']:.2f} ms, p99 {row['relay_lag_p99_ms']:.2f} ms",
                flush=True,
            )
        time.sleep(2)
    stop_publisher.set()
    publisher.join(30)
    return rows


def direct_latency(seconds: float) -> dict[str, float]:
    """Publisher and viewer connected directly (one process), for the latency baseline."""
    from live.media import aiortc_private

    async def main() -> list[float]:
        frames = encoded_loop()
        sent_at = [0.0] * LOOP_FRAMES
        counter = Counter(frame_index(frames), sent_at)
        sender, receiver = new_pc(), new_pc()
        sender.addTransceiver(loop_track(frames, sent_at), direction="sendonly")
        from aiortc import RTCSessionDescription

        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        aiortc_private.tap_encoded_frames(receiver.getTransceivers()[0].receiver, "video", counter)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(
            RTCSessionDescription(receiver.localDescription.sdp, "answer")
        )
        await asyncio.sleep(2)
        counter.latencies = []
        await asyncio.sleep(seconds)
        await sender.close()
        await receiver.close()
        return counter.latencies

    latencies = asyncio.run(main())
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", default="10,50")
    parser.add_argument("--stock-viewers", default="5,10")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--per-process", type=int, default=25, help="viewers per process")
    parser.add_argument(
        "--timed-per-process",
        type=int,
        default=3,
        help="viewers per process that decrypt and time frames (the rest only count them)",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="worker counts of `live serve` to measure, one after the other (e.g. 1,2)",
    )
    parser.add_argument(
        "--record", default="on", help="[media] record for the live runs: on, off or on,off"
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each --record mode")
    parser.add_argument(
        "--nodes",
        type=int,
        default=0,
        help="also run one room over this many one-worker nodes (publisher on the first)",
    )
    parser.add_argument("--stock-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stock_server:
        stock_server(args.stock_server)
        return
    frames = encoded_loop()
    kbps = sum(len(f) for f in frames) * 8 / (LOOP_FRAMES / FPS) / 1000
    print(f"stream: 640x480 VP8, {FPS} fps, {kbps:.0f} kbit/s, keyframe every {GOP} frames")
    env = {
        **os.environ,
        "LIVE_ADMIN_TOKEN": ADMIN,
        "LIVE_LOGGING_LEVEL": "warning",
        "LIVE_REDIS_KEY_PREFIX": "bench" + secrets.token_hex(3),
    }
    env.pop("LIVE_REDIS_URL", None)
    results: dict[str, Any] = {"stream_kbps": kbps}

    results["live"] = []
    modes = [m for m in args.record.split(",") if m]
    for run in range(args.runs):
        for mode in modes:
            for workers in [int(w) for w in args.workers.split(",") if w]:
                rows = measure_recorded(env, workers, args, mode)
                for row in rows:
                    row.update(record=mode, run=run)
                results["live"] += rows
    if len(modes) > 1 or args.runs > 1:
        results["recording"] = recording_summary(results["live"])
    if args.nodes > 1:
        results["live"] += measure_nodes(env, args.nodes, args)

    counts = [int(n) for n in args.stock_viewers.split(",") if n]
    results["stock"] = measure_stock(counts, args) if counts else []

    results["direct_latency"] = direct_latency(args.seconds)
    print(
        f"direct: latency p50 {results['direct_latency']['p50_ms']:.1f} ms, "
        f"p99 {results['direct_latency']['p99_ms']:.1f} ms"
    )
    ours = [r for r in results["live"] if r["viewers"] and r["workers"] == 1]
    theirs = [r for r in results["stock"] if r["viewers"]]
    if ours and theirs:
        # The smallest N of each: the stock relay saturates early on a small machine.
        ratio = theirs[0]["cpu_per_viewer"] / max(1e-9, ours[0]["cpu_per_viewer"])
        at_30 = theirs[0]["cpu_per_viewer_at_30fps"] / max(1e-9, ours[0]["cpu_per_viewer_at_30fps"])
        results["stock_to_live_cpu_ratio"] = ratio
        results["stock_to_live_cpu_ratio_at_30fps"] = at_30
        print(f"CPU per viewer, stock relay / live: {ratio:.1f}x ({at_30:.1f}x scaled to 30 fps)")
    print(json.dumps(results, indent=1))


def measure_recorded(
    env: dict[str, str], workers: int, args: Any, mode: str
) -> list[dict[str, Any]]:
    """`measure_live` with [media] record `mode`, into a fresh recordings directory; each
    row gets the recording's disk bytes per minute of the run."""
    with tempfile.TemporaryDirectory(prefix="bench-recordings-") as folder:
        started = time.monotonic()
        recording = {
            "LIVE_MEDIA_RECORD": "true" if mode == "on" else "false",
            "LIVE_MEDIA_RECORDINGS_DIR": folder,
        }
        rows = measure_live({**env, **recording}, workers, args)
        minutes = (time.monotonic() - started) / 60
        written = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
    print(f"record={mode}: {written / minutes / 1e6:.2f} MB written per minute", flush=True)
    for row in rows:
        row["disk_bytes_per_min"] = written / minutes
    return rows


def recording_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per viewer count and record mode: mean and spread (min, max) over the runs of CPU
    per viewer and p50 latency; the recording's own CPU per room (publisher only, on - off)."""
    summary: dict[str, Any] = {}
    for (viewers, mode), group in _grouped(rows).items():
        per_viewer = [r["cpu_per_viewer"] if viewers else r["cpu"] for r in group]
        latency = [r.get("latency_p50_ms", float("nan")) for r in group]
        summary[f"{viewers} viewers, record {mode}"] = {
            "cpu_per_viewer" if viewers else "cpu": _spread(per_viewer),
            "latency_p50_ms": _spread(latency) if viewers else None,
            "disk_mb_per_min": _spread([r["disk_bytes_per_min"] / 1e6 for r in group]),
        }
    on = [r["cpu"] for r in rows if not r["viewers"] and r["record"] == "on"]
    off = [r["cpu"] for r in rows if not r["viewers"] and r["record"] == "off"]
    if on and off:
        summary["recording_cpu_per_room"] = sum(on) / len(on) - sum(off) / len(off)
    for name, value in summary.items():
        print(f"{name}: {value}", flush=True)
    return summary


def _grouped(rows: list[dict[str, Any]]) -> dict[tuple[int, str], list[dict[str, Any]]]:
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["viewers"], row["record"]), []).append(row)
    return groups


def _spread(values: list[float]) -> dict[str, float]:
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}


def measure_live(env: dict[str, str], workers: int, args: Any) -> list[dict[str, Any]]:
    """`live serve --workers N` with one room, at each N of --viewers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    live = subprocess.Popen(
        [sys.executable, "-c", "from live.cli import main; main()", *command],
        env={**env, "LIVE_MEDIA_WORKER_HEADERS": "true"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base)
        room = new_room(base)
        rid = room["room_id"]
        counts = [int(n) for n in args.viewers.split(",") if n]
        return measure(
            "live",
            live,
            base,
            f"/api/rooms/{rid}/whip",
            f"/api/rooms/{rid}/whep",
            room["host_token"],
            counts,
            args.seconds,
            args.per_process,
            args.timed_per_process,
            workers,
        )
    finally:
        live.terminate()
        live.wait(30)


def measure_nodes(env: dict[str, str], count: int, args: Any) -> list[dict[str, Any]]:
    """`count` one-worker nodes on one Redis: the publisher on the first, viewers on the
    others."""
    from live.redisdb.embedded import EmbeddedRedis

    redis = EmbeddedRedis(ROOT / "var" / f"bench-nodes-{os.getpid()}")
    url = redis.start()
    ports = [free_port() for _ in range(count)]
    # One deployment: every node the same `[node] secret` (each `live serve` has its own
    # workers' secret, so without it the nodes would refuse each other).
    cluster_secret = secrets.token_urlsafe(32)
    servers = []
    try:
        for i, port in enumerate(ports):
            node_env = {
                **env,
                "LIVE_REDIS_URL": url,
                "LIVE_MEDIA_WORKER_HEADERS": "true",
                "LIVE_NODE_ID": f"bench-{i}",
                "LIVE_NODE_ADVERTISE_URL": f"http://127.0.0.1:{port}",
                "LIVE_NODE_SECRET": cluster_secret,
            }
            command = ["serve", "--port", str(port), "--workers", "1"]
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-c", "from live.cli import main; main()", *command],
                    env=node_env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_healthy(base)
        room = new_room(bases[0])
        rid = room["room_id"]
        counts = [int(n) for n in args.viewers.split(",") if n]
        return measure(
            "live",
            servers[0],
            bases[0],
            f"/api/rooms/{rid}/whip",
            f"/api/rooms/{rid}/whep",
            room["host_token"],
            counts,
            args.seconds,
            args.per_process,
            args.timed_per_process,
            nodes=[(b, s.pid) for b, s in zip(bases[1:], servers[1:], strict=True)],
        )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
        redis.stop()


def measure_stock(counts: list[int], args: Any) -> list[dict[str, Any]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    stock = subprocess.Popen(
        [sys.executable, "-m", "loadtests.bench_media", "--stock-server", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base)
        return measure(
            "stock",
            stock,
            base,
            "/whip",
            "/whep",
            None,
            counts,
            args.seconds,
            args.per_process,
            args.timed_per_process,
        )
    finally:
        stock.terminate()
        stock.wait(30)


if __name__ == "__main__":
    main()
