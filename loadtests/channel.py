"""A room channel client for locust: one websocket, read in its own greenlet.

Every event is reported through locust's request event (request_type "WS", named by event
type, response time = delivery latency), so locust's statistics and charts show them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import gevent
import websocket
from websocket import ABNF

from loadtests.frames import (
    Event,
    FrameError,
    Gap,
    SeqTracker,
    channel_url,
    delivery_latency_ms,
    parse_frame,
)
from loadtests.ledger import RunLedger

log = logging.getLogger("live.load.channel")

FATAL_CLOSES = {4001: "unauthorized", 4003: "forbidden", 4004: "unknown room", 4009: "room ended"}
CLOSE_REASONS = {1006: "connection lost", 1009: "frame too large", 1012: "server restarting"}
CLOSE_REASONS |= {4008: "too slow: the client fell behind", **FATAL_CLOSES}
EXPECTED_ERRORS = frozenset({"rate_limited"})  # the server pacing a chatty crowd is not a bug
CONNECT_TIMEOUT_S = 30.0
MAX_RECONNECTS = 8  # with back-off capped at 5 s, about half a minute of trying


class ChannelError(Exception):
    """Why a channel operation is reported as failed."""


class SourceAddresses:
    """Round-robin local addresses to connect from (more ephemeral ports per server)."""

    def __init__(self, addresses: list[str]) -> None:
        self._cycle = itertools.cycle(addresses) if addresses else None

    def next(self) -> str | None:
        return next(self._cycle) if self._cycle else None


class RoomChannel:
    """One client's websocket to a room; reconnects with `since`/`epoch` when dropped."""

    def __init__(
        self,
        environment: Any,
        ledger: RunLedger,
        base_url: str,
        room_id: str,
        token: str | None,
        on_event: Callable[[Event], None],
        source_address: str | None = None,
    ) -> None:
        self.environment = environment
        self.ledger = ledger
        self.base_url = base_url
        self.room_id = room_id
        self.token = token
        self.on_event = on_event
        self.source_address = source_address
        self.tracker = SeqTracker()
        self._ws: websocket.WebSocket | None = None
        self._reader: gevent.Greenlet | None = None
        self._closing = False
        self._pings: deque[float] = deque(maxlen=64)

    def open(self) -> bool:
        """Connect and start reading; False (reported) when the handshake fails."""
        if not self._connect("connect"):
            return False
        self._reader = gevent.spawn(self._read_forever)
        return True

    @property
    def alive(self) -> bool:
        """Still reading, or reconnecting; False once closed or given up."""
        return not self._closing and self._reader is not None and not self._reader.dead

    def send(self, message: dict[str, Any]) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            ws.send(_dumps(message))
        except (websocket.WebSocketException, OSError) as exc:
            self._report(f"send {message.get('type')}", 0.0, exc=ChannelError(str(exc)))
            return False
        return True

    def ping(self) -> bool:
        """Send a ping; its `pong` is reported as a round trip, free of clock skew."""
        self._pings.append(time.perf_counter())
        if self.send({"type": "ping"}):
            return True
        self._pings.pop()
        return False

    def close(self) -> None:
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                ws.send_close()
            ws.shutdown()  # type: ignore[no-untyped-call]
        if self._reader is not None and self._reader is not gevent.getcurrent():
            self._reader.kill(block=False)

    # -- connecting

    def _connect(self, name: str) -> bool:
        params = {"token": self.token} if self.token else {}
        params.update(self.tracker.resume_params())
        url = channel_url(self.base_url, self.room_id, params)
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(
                url,
                timeout=CONNECT_TIMEOUT_S,
                enable_multithread=True,
                skip_utf8_validation=True,
                **self._socket_option(),
            )
        except (websocket.WebSocketException, OSError) as exc:
            self._report(name, _ms_since(started), exc=ChannelError(f"{type(exc).__name__}: {exc}"))
            return False
        if self._closing:  # the user left while this handshake was in flight
            ws.shutdown()  # type: ignore[no-untyped-call]
            return False
        self._pings.clear()  # pongs of a lost connection never come
        ws.settimeout(None)  # a quiet room is not a dead one; pings watch the connection
        self._ws = ws
        self._report(name, _ms_since(started))
        return True

    def _socket_option(self) -> dict[str, Any]:
        if not self.source_address:
            return {}
        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        sock = socket.create_connection(
            (parts.hostname, port), CONNECT_TIMEOUT_S, source_address=(self.source_address, 0)
        )
        return {"socket": sock}

    # -- reading

    def _read_forever(self) -> None:
        failures = 0
        while not self._closing:
            code, reason = self._read_until_closed()
            if self._closing:
                return
            why = reason or CLOSE_REASONS.get(code, "closed by the server")
            self._report(f"closed {code}", 0.0, exc=ChannelError(why))
            if code in FATAL_CLOSES:
                return
            while not self._closing:
                gevent.sleep(min(5.0, 0.2 * 2**failures) * random.uniform(0.5, 1.5))
                if self._connect("reconnect"):
                    failures = 0
                    break
                failures += 1
                if failures >= MAX_RECONNECTS:
                    return

    def _read_until_closed(self) -> tuple[int, str]:
        ws = self._ws
        if ws is None:
            return 1000, "closed by the client"
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == ABNF.OPCODE_CLOSE:
                    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                    return code, data[2:].decode(errors="replace")
                self._on_frame(data)
        except (websocket.WebSocketException, OSError) as exc:
            return 1006, f"{type(exc).__name__}: {exc}"
        finally:
            self._ws = None  # sends made while reconnecting are dropped, as a client's would be
            ws.shutdown()  # type: ignore[no-untyped-call]

    def _on_frame(self, data: bytes | str) -> None:
        received_ms = time.time() * 1000
        try:
            events = parse_frame(data)
        except FrameError as exc:
            self._report("bad frame", 0.0, exc=ChannelError(str(exc)))
            return
        size = len(data) // len(events)
        for event in events:
            self._on_event(event, received_ms, size)

    def _on_event(self, event: Event, received_ms: float, size: int) -> None:
        kind = event["type"]
        if kind == "snapshot":
            self._on_snapshot(event)
        else:
            verdict = self.tracker.on_event(event)
            if verdict is not None:
                self._on_discontinuity(verdict)
        latency = delivery_latency_ms(event, received_ms) or 0.0
        if kind == "error":
            code = str(event.get("code"))
            failed = None if code in EXPECTED_ERRORS else ChannelError(str(event.get("message")))
            self._report(f"error {code}", latency, size, exc=failed)
        else:
            self._report(kind, latency, size)
        if kind == "pong" and self._pings:
            self._report("ping round trip", _ms_since(self._pings.popleft()))
        try:
            self.on_event(event)
        except Exception:
            log.exception("a user's event hook failed on %s", kind)

    def _on_snapshot(self, snapshot: Event) -> None:
        resume = self.tracker.on_snapshot(snapshot)
        if resume is None:
            return
        self.ledger.count("resumes")
        if resume.epoch_changed:
            self.ledger.count("epoch_changes")
        elif not resume.recovered:
            self.ledger.count("unrecovered")
        failed = None if resume.complete else ChannelError(f"not recovered: {resume}")
        self._report("resume", 0.0, exc=failed)

    def _on_discontinuity(self, verdict: Any) -> None:
        if isinstance(verdict, Gap):
            self.ledger.count("gaps")
            self.ledger.count("missed", verdict.missing)
            self._report("seq gap", 0.0, exc=ChannelError(str(verdict)))
        else:
            self.ledger.count("repeats")
            self._report("seq repeat", 0.0, exc=ChannelError(str(verdict)))

    def _report(
        self, name: str, response_time: float, length: int = 0, exc: Exception | None = None
    ) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=response_time,
            response_length=length,
            exception=exc,
            context={"room_id": self.room_id},
        )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
