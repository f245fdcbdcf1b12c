"""Media benchmark: server CPU and memory per viewer, forwarding vs aiortc's stock relay.

One publisher (640x480 VP8, 30 fps, about 1 Mbit/s, a pre-encoded loop with a keyframe
every 2 s) sends by WHIP; N viewers in another process receive by WHEP without decoding.
The server's CPU seconds per second and RSS are read from /proc. In the same run:

- `live serve` (forwarding encoded frames), at each N in --viewers;
- aiortc's stock `MediaRelay` (decode once, encode per viewer) behind the same WHIP/WHEP
  exchange, at each N in --stock-viewers;
- latency (frame handed to the publisher's sender -> complete frame at the viewer), p50
  and p99, through `live` and over a direct publisher-to-viewer connection.

    python -m loadtests.bench_media --viewers 10,50 --stock-viewers 5,10
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
ADMIN = "bench-admin-" + "x" * 20


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


async def exchange(http: httpx.AsyncClient, url: str, pc: Any, token: str | None) -> None:
    from aiortc import RTCSessionDescription

    await pc.setLocalDescription(await pc.createOffer())
    headers = {"Content-Type": "application/sdp"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await http.post(url, content=pc.localDescription.sdp, headers=headers)
    answer.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))


def new_pc() -> Any:
    from aiortc import RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def run_publisher(base: str, path: str, token: str | None, sent_at: Any, stop: Any) -> None:
    async def main() -> None:
        frames = encoded_loop()
        pc = new_pc()
        pc.addTransceiver(loop_track(frames, sent_at), direction="sendonly")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await exchange(http, path, pc, token)
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
        counter = Counter(frame_index(encoded_loop()), sent_at)
        pcs = []
        seen: list[int] = [0] * n
        all_seen = asyncio.Event()
        timed = full_viewers(n, full)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for i in range(n):
                pc = new_pc()
                video = pc.addTransceiver("video", direction="recvonly")

                def saw(i: int = i) -> None:
                    seen[i] += 1
                    if seen[i] == 1 and all(seen):
                        all_seen.set()

                def sink(frame: Any, ssrc: int, saw: Any = saw) -> None:
                    saw()
                    counter(frame, ssrc)

                def marker(saw: Any = saw) -> None:
                    saw()
                    counter.frames += 1

                if i in timed:
                    aiortc_private.tap_encoded_frames(video.receiver, "video", sink)
                await exchange(http, path, pc, None)
                if i not in timed:
                    count_rtp_only(pc, marker)
                pcs.append(pc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_seen.wait(), 60)
        out.put(("ready", sum(1 for s in seen if s)))
        counter.frames, counter.latencies = 0, []
        started = time.monotonic()
        await asyncio.to_thread(stop.wait)
        out.put(("done", counter.frames / (time.monotonic() - started), counter.latencies))
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
) -> list[dict[str, Any]]:
    ctx = mp.get_context("fork")
    sent_at = ctx.Array("d", LOOP_FRAMES, lock=False)
    stop_publisher = ctx.Event()
    publisher = ctx.Process(target=run_publisher, args=(base, whip, token, sent_at, stop_publisher))
    publisher.start()
    time.sleep(3)
    idle_cpu, idle_rss = sample(server.pid, seconds / 2)
    rows = [{"relay": name, "viewers": 0, "cpu": idle_cpu, "rss_mb": idle_rss}]
    print(f"{name}: publisher only: {idle_cpu * 100:.1f}% CPU, {idle_rss:.0f} MB", flush=True)
    for n in counts:
        stop, out = ctx.Event(), ctx.Queue()
        sizes = [per_process] * (n // per_process) + ([n % per_process] if n % per_process else [])
        processes = [
            ctx.Process(target=run_viewers, args=(base, whep, size, full, sent_at, stop, out))
            for size in sizes
        ]
        for process in processes:
            process.start()
        ready = sum(out.get(timeout=120)[1] for _ in processes)
        time.sleep(1)
        receivers_before = sum(cpu_seconds(p.pid) for p in processes if p.pid)
        started = time.monotonic()
        cpu, rss = sample(server.pid, seconds)
        receivers_cpu = (sum(cpu_seconds(p.pid) for p in processes if p.pid) - receivers_before) / (
            time.monotonic() - started
        )
        stop.set()
        fps, latencies = 0.0, []
        for _ in processes:
            _, process_fps, process_latencies = out.get(timeout=60)
            fps += process_fps
            latencies += process_latencies
        for process in processes:
            process.join(30)
        row = {
            "relay": name,
            "viewers": n,
            "receiving": ready,
            "cpu": cpu,
            "rss_mb": rss,
            "cpu_per_viewer": (cpu - idle_cpu) / n,
            # CPU per viewer scaled to a full 30 fps, for a relay that could not keep up.
            "cpu_per_viewer_at_30fps": (cpu - idle_cpu) / n * FPS / max(0.1, fps / n),
            "mb_per_viewer": (rss - idle_rss) / n,
            "fps_per_viewer": fps / n,
            "latency_p50_ms": percentile(latencies, 0.5) * 1000,
            "latency_p99_ms": percentile(latencies, 0.99) * 1000,
            "timed_viewers": sum(len(full_viewers(size, full)) for size in sizes),
            "latency_samples": len(latencies),
            # The receiving processes together (they share the machine with the server).
            "receivers_cpu": receivers_cpu,
        }
        rows.append(row)
        print(
            f"{name}: {n} viewers ({ready} receiving, {row['fps_per_viewer']:.1f} fps each): "
            f"{cpu * 100:.1f}% CPU, {row['cpu_per_viewer'] * 100:.2f}% per viewer "
            f"({row['cpu_per_viewer_at_30fps'] * 100:.2f}% at 30 fps), "
            f"{row['mb_per_viewer']:.2f} MB per viewer, latency p50 "
            f"{row['latency_p50_ms']:.1f} ms p99 {row['latency_p99_ms']:.1f} ms "
            f"({row['timed_viewers']} timed viewers), receivers {receivers_cpu * 100:.0f}% CPU",
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

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live = subprocess.Popen(
        [sys.executable, "-c", "from live.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base)
        room = httpx.post(
            base + "/api/rooms",
            json={"title": "bench", "host_name": "bench"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).json()
        rid = room["room_id"]
        counts = [int(n) for n in args.viewers.split(",") if n]
        results["live"] = measure(
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
        )
    finally:
        live.terminate()
        live.wait(30)

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
        counts = [int(n) for n in args.stock_viewers.split(",") if n]
        results["stock"] = measure(
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

    results["direct_latency"] = direct_latency(args.seconds)
    print(
        f"direct: latency p50 {results['direct_latency']['p50_ms']:.1f} ms, "
        f"p99 {results['direct_latency']['p99_ms']:.1f} ms"
    )
    ours = [r for r in results["live"] if r["viewers"]]
    theirs = [r for r in results["stock"] if r["viewers"]]
    if ours and theirs:
        # The smallest N of each: the stock relay saturates early on a small machine.
        ratio = theirs[0]["cpu_per_viewer"] / max(1e-9, ours[0]["cpu_per_viewer"])
        at_30 = theirs[0]["cpu_per_viewer_at_30fps"] / max(1e-9, ours[0]["cpu_per_viewer_at_30fps"])
        results["stock_to_live_cpu_ratio"] = ratio
        results["stock_to_live_cpu_ratio_at_30fps"] = at_30
        print(f"CPU per viewer, stock relay / live: {ratio:.1f}x ({at_30:.1f}x scaled to 30 fps)")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
