"""A minimal websocket viewer for fan-out benchmarks, on asyncio protocols.

It does the HTTP upgrade, then reads the server's (unmasked) frames straight from the
byte stream: no per-message task, no compression (none is offered), pings answered.
Each text frame is a JSON array of events: every event's `seq` is checked for gaps and
its `ts` gives the delivery latency, counted in a 1 ms histogram that processes can add
up exactly. Lean on purpose: on a small machine the load generator must leave the CPU to
the server it measures.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

import orjson
from websockets.frames import Frame, Opcode

MAX_LATENCY_MS = 60_000


class Stats:
    """One process's counts; `merge` adds another process's `as_dict()`."""

    def __init__(self) -> None:
        self.histogram = [0] * (MAX_LATENCY_MS + 1)
        self.frames = 0
        self.events = 0
        self.gaps = 0
        self.repeats = 0
        self.closed = 0
        self.failed = 0
        self.counting = False

    def as_dict(self) -> dict[str, Any]:
        # Sparse: most buckets of the histogram are empty.
        hist = {str(ms): n for ms, n in enumerate(self.histogram) if n}
        return {
            "frames": self.frames,
            "events": self.events,
            "gaps": self.gaps,
            "repeats": self.repeats,
            "closed_early": self.closed,
            "failed_connects": self.failed,
            "histogram": hist,
        }

    def merge(self, other: dict[str, Any]) -> None:
        for ms, n in other["histogram"].items():
            self.histogram[int(ms)] += n
        self.frames += other["frames"]
        self.events += other["events"]
        self.gaps += other["gaps"]
        self.repeats += other["repeats"]
        self.closed += other["closed_early"]
        self.failed += other["failed_connects"]

    def percentile(self, p: float) -> float:
        total = sum(self.histogram)
        if not total:
            return 0.0
        rank = min(total - 1, int(p * total))
        seen = 0
        for ms, n in enumerate(self.histogram):
            seen += n
            if seen > rank:
                return float(ms)
        return float(MAX_LATENCY_MS)

    def summary(self, elapsed: float) -> dict[str, Any]:
        return {
            "seconds": round(elapsed, 2),
            "frames": self.frames,
            "events": self.events,
            "deliveries_per_s": round(self.events / max(elapsed, 1e-6)),
            "gaps": self.gaps,
            "repeats": self.repeats,
            "closed_early": self.closed,
            "failed_connects": self.failed,
            "p50_ms": self.percentile(0.50),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "max_ms": self.percentile(1.0),
        }


def upgrade_request(url: str) -> tuple[str, int, bytes]:
    """(host, port, the HTTP upgrade request) for a `ws://` URL."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    return host, port, request.encode()


class Viewer(asyncio.Protocol):
    """One connection. `on_open` fires with the first (snapshot) frame."""

    def __init__(self, request: bytes, stats: Stats, on_open: Callable[[Viewer], None]) -> None:
        self.request = request
        self.stats = stats
        self.on_open = on_open
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.fragments: list[bytes] | None = None
        self.last_seq: int | None = None
        self.snapshot: dict[str, Any] | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.snapshot is not None:
            self.stats.closed += 1
        if not self.lost.done():
            self.lost.set_result(exc)

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data = self.buffer + data
            self.buffer = b""
        if not self.upgraded:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self._fail()
                return
            self.upgraded = True
            data = data[end + 4 :]
        pos = 0
        size = len(data)
        while size - pos >= 2:
            first = data[pos]
            length = data[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > size:
                break
            payload = data[pos + head : end]
            pos = end
            opcode = first & 0x0F
            if opcode == Opcode.TEXT or opcode == Opcode.CONT:
                if first & 0x80 and self.fragments is None:
                    self._on_frame(payload)
                elif self.fragments is None:
                    self.fragments = [payload]
                else:
                    self.fragments.append(payload)
                    if first & 0x80:
                        whole = b"".join(self.fragments)
                        self.fragments = None
                        self._on_frame(whole)
            elif opcode == Opcode.PING:
                self._send(Opcode.PONG, payload)
            elif opcode == Opcode.CLOSE:
                self._send(Opcode.CLOSE, payload[:2])
                assert self.transport is not None
                self.transport.close()
                return
        if pos < size:
            self.buffer = data[pos:]

    def _send(self, opcode: Opcode, payload: bytes) -> None:
        # Rare (pongs, the close reply): websockets' own serializer masks as a client must.
        assert self.transport is not None
        self.transport.write(Frame(opcode, payload).serialize(mask=True))

    def _fail(self) -> None:
        if not self.lost.done():
            self.lost.set_result(ConnectionError("upgrade refused"))
        assert self.transport is not None
        self.transport.close()

    def _on_frame(self, payload: bytes) -> None:
        now = time.time() * 1000
        events = orjson.loads(payload)
        stats = self.stats
        if self.snapshot is None:
            self.snapshot = events[0]
            self.last_seq = events[0].get("seq")
            self.on_open(self)
            events = events[1:]
        last = self.last_seq
        counting = stats.counting
        histogram = stats.histogram
        for event in events:
            seq = event.get("seq")
            if seq is not None:
                if last is not None and seq != last + 1:
                    if seq > last:
                        stats.gaps += 1
                    else:
                        stats.repeats += 1
                        continue
                last = seq
            if counting:
                ts = event.get("ts")
                if ts is not None:
                    ms = int(now - ts)
                    histogram[0 if ms < 0 else min(ms, MAX_LATENCY_MS)] += 1
        self.last_seq = last
        if counting:
            stats.frames += 1
            stats.events += len(events)


async def connect_viewers(
    url: str,
    count: int,
    stats: Stats,
    rate: float,
    source_ips: list[str] | None = None,
    timeout_s: float = 120.0,
) -> list[Viewer]:
    """Open `count` viewers at about `rate` per second; returns once each got its snapshot
    (or failed: counted in `stats.failed`)."""
    loop = asyncio.get_running_loop()
    host, port, request = upgrade_request(url)
    pending = {"n": count}
    all_open = loop.create_future()

    def opened(_viewer: Viewer) -> None:
        pending["n"] -= 1
        if pending["n"] == 0 and not all_open.done():
            all_open.set_result(None)

    def gave_up() -> None:
        stats.failed += 1
        opened(cast(Viewer, None))

    viewers: list[Viewer] = []
    started = loop.time()
    for n in range(count):
        source = (source_ips[n % len(source_ips)], 0) if source_ips else None
        try:
            _, viewer = await loop.create_connection(
                lambda: Viewer(request, stats, opened), host, port, local_addr=source
            )
        except OSError:
            gave_up()
            continue
        viewer.lost.add_done_callback(functools.partial(_unless_open, viewer, gave_up))
        viewers.append(viewer)
        ahead = (n + 1) / rate - (loop.time() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
    if count:
        await asyncio.wait_for(all_open, timeout_s)
    return viewers


def _unless_open(viewer: Viewer, gave_up: Callable[[], None], _lost: object) -> None:
    # A connection lost before its snapshot never opened.
    if viewer.snapshot is None:
        gave_up()
