"""A small keep-alive HTTP/1.1 load generator on asyncio protocols: closed loop, open loop
at a fixed rate (latency measured from the intended send time), and fixed request lists.
Lean on purpose: on a small machine the generator must not be the bottleneck."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

RequestFactory = Callable[[], bytes]
OnResponse = Callable[[int, int, bytes], None]  # (index in the list, status, body)


def post(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive connection; hands each complete response to `on_done`."""

    def __init__(self, on_done: Callable[[Connection, int, bytes], None]) -> None:
        self.on_done = on_done
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0
        self.tag: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes, tag: object = None) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.tag = tag
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"content-length:")
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            status = int(head[9:12])
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            self.on_done(self, status, body)


async def open_connections(
    host: str, port: int, count: int, on_done: Callable[[Connection, int, bytes], None]
) -> list[Connection]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(count):
        _, conn = await loop.create_connection(lambda: Connection(on_done), host, port)
        conns.append(conn)
    return conns


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, latency: float) -> None:
        self.latencies.append(latency)
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0


async def closed_loop(
    host: str,
    port: int,
    connections: int,
    seconds: float,
    warmup: float,
    make: RequestFactory,
    on_window: Callable[[bool], None] | None = None,
) -> tuple[float, Tally]:
    """Each connection sends its next request as soon as the answer arrives; returns the
    requests per second measured after `warmup`, and the tally. `on_window(True)` and
    `on_window(False)` are called as the measured window opens and closes."""
    tally = Tally()
    state = {"measuring": False, "running": True, "count": 0}

    def on_done(conn: Connection, status: int, body: bytes) -> None:
        if state["measuring"]:
            state["count"] += 1
            tally.add(status, time.perf_counter() - conn.sent_at)
        if state["running"]:
            conn.send(make())

    conns = await open_connections(host, port, connections, on_done)
    for conn in conns:
        conn.send(make())
    await asyncio.sleep(warmup)
    if on_window:
        on_window(True)
    state["measuring"] = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    state["measuring"] = False
    elapsed = time.perf_counter() - started
    if on_window:
        on_window(False)
    state["running"] = False
    await asyncio.sleep(0.5)
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()
    return state["count"] / elapsed, tally


async def open_loop(
    host: str, port: int, connections: int, rate: float, seconds: float, make: RequestFactory
) -> Tally:
    """Send `rate` requests per second whatever the answers do; latency counts from the
    intended send time, so waiting for a free connection is counted too."""
    tally = Tally()
    idle: deque[Connection] = deque()
    queued: deque[float] = deque()
    total = int(rate * seconds)
    all_answered = asyncio.Event()

    def on_done(conn: Connection, status: int, body: bytes) -> None:
        assert isinstance(conn.tag, float)
        tally.add(status, time.perf_counter() - conn.tag)
        if len(tally.latencies) >= total:
            all_answered.set()
        if queued:
            conn.send(make(), queued.popleft())
        else:
            idle.append(conn)

    idle.extend(await open_connections(host, port, connections, on_done))
    started = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        while sent < due:
            intended = started + sent / rate
            if idle:
                idle.popleft().send(make(), intended)
            else:
                queued.append(intended)
            sent += 1
        await asyncio.sleep(0.001)
    await asyncio.wait_for(all_answered.wait(), 60)
    for conn in idle:
        assert conn.transport is not None
        conn.transport.close()
    return tally


async def run_list(
    host: str, port: int, connections: int, requests: list[bytes], on_response: OnResponse
) -> float:
    """Send every request of the list as fast as the connections allow; seconds taken."""
    pending = deque(enumerate(requests))
    remaining = {"n": len(requests)}
    finished = asyncio.get_running_loop().create_future()

    def on_done(conn: Connection, status: int, body: bytes) -> None:
        assert isinstance(conn.tag, int)
        on_response(conn.tag, status, body)
        remaining["n"] -= 1
        if pending:
            index, request = pending.popleft()
            conn.send(request, index)
        elif remaining["n"] == 0 and not finished.done():
            finished.set_result(None)

    conns = await open_connections(host, port, connections, on_done)
    started = time.perf_counter()
    for conn in conns:
        if pending:
            index, request = pending.popleft()
            conn.send(request, index)
    await asyncio.wait_for(finished, 300)
    elapsed = time.perf_counter() - started
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()
    return elapsed
