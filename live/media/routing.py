"""Reaching the process that holds a room's media: a private loopback HTTP listener per
process, and a minimal HTTP/1.1 client that forwards a request to it.

Both ends are ours: one request per connection, `Content-Length` bodies, `Connection:
close`. The listener hands each request to an ASGI app (the media endpoints only), and
only when it carries the workers' shared secret: any local user can reach a loopback port,
and the forwarded request already passed the public checks on the sibling worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import secrets
from typing import Any

from starlette.types import ASGIApp, Message

log = logging.getLogger("live.media")

MAX_HEADER_BYTES = 16384
MAX_BODY_BYTES = 1 << 20
TIMEOUT_S = 15.0
# Request headers that travel to the owner (the rest are hop-by-hop or irrelevant).
FORWARDED = ("authorization", "content-type", "origin", "x-forwarded-for", "x-live-client-address")
# Response headers not copied back.
HOP_BY_HOP = {"connection", "content-length", "date", "server", "transfer-encoding"}

Headers = list[tuple[str, str]]

# The secret shared by the workers of one `live serve` (set by the supervisor before it
# starts them; generated here for a process started some other way).
SECRET_ENV = "_LIVE_MEDIA_INTERNAL_SECRET"
SECRET_HEADER = "x-live-internal"


def internal_secret() -> str:
    """This server's secret for the internal listeners (the same in every worker)."""
    secret = os.environ.get(SECRET_ENV)
    if not secret:
        secret = os.environ[SECRET_ENV] = secrets.token_urlsafe(32)
    return secret


async def forward(
    address: str, method: str, path: str, headers: Headers, body: bytes
) -> tuple[int, Headers, bytes]:
    """Send one request to `address` (`http://127.0.0.1:<port>`); raises OSError if down."""
    host, _, port = address.removeprefix("http://").partition(":")
    async with asyncio.timeout(TIMEOUT_S):
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
            head += [f"{k}: {v}" for k, v in headers if k.lower() in FORWARDED]
            head.append(f"{SECRET_HEADER}: {internal_secret()}")
            head.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status_line = (await reader.readline()).decode("latin-1")
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[1].isdigit():
                raise ConnectionError(f"bad answer from {address}: {status_line!r}")
            answer_headers = await _read_headers(reader)
            length = int(_header(answer_headers, "content-length") or "0")
            data = await reader.readexactly(length) if length else b""
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    kept = [(k, v) for k, v in answer_headers if k.lower() not in HOP_BY_HOP]
    return int(parts[1]), kept, data


async def _read_headers(reader: asyncio.StreamReader) -> Headers:
    headers: Headers = []
    size = 0
    while True:
        line = await reader.readline()
        size += len(line)
        if size > MAX_HEADER_BYTES:
            raise ConnectionError("headers too large")
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return headers
        name, _, value = text.partition(":")
        headers.append((name.strip(), value.strip()))


def _header(headers: Headers, name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


class InternalListener:
    """A loopback-only HTTP listener on a free port, serving one ASGI app."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._secret = internal_secret().encode()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, host: str = "127.0.0.1") -> str:
        self._server = await asyncio.start_server(self._serve, host, 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{host}:{port}"

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await self._one_request(reader, writer)
        except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        request_line = (await reader.readline()).decode("latin-1").split(" ")
        if len(request_line) != 3:
            return
        method, target = request_line[0], request_line[1]
        headers = await _read_headers(reader)
        length = int(_header(headers, "content-length") or "0")
        if length > MAX_BODY_BYTES:
            return
        body = await reader.readexactly(length) if length else b""
        given = (_header(headers, SECRET_HEADER) or "").encode("latin-1")
        if not hmac.compare_digest(given, self._secret):
            writer.write(b"HTTP/1.1 403 -\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        path, _, query = target.partition("?")
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "client": (peer[0], peer[1]),
            "server": writer.get_extra_info("sockname"),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        out_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)
        data = b"".join(chunks)
        head = [f"HTTP/1.1 {status} -"]
        head += [
            f"{k.decode('latin-1')}: {v.decode('latin-1')}"
            for k, v in out_headers
            if k.lower() not in (b"content-length", b"connection")
        ]
        head += [f"Content-Length: {len(data)}", "Connection: close"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()
