"""Each process's private loopback HTTP listener, serving one ASGI app to its siblings.

HTTP/1.1 is parsed by h11 (uvicorn's own parser): one request per connection, bodies up to
`MAX_BODY_BYTES`. Only requests carrying the workers' shared secret reach the app: any
local user can reach a loopback port.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

import h11
from starlette.types import ASGIApp, Message

log = logging.getLogger("live.routing")

MAX_HEADER_BYTES = 16384
MAX_BODY_BYTES = 1 << 20
TIMEOUT_S = 15.0
SECRET_HEADER = "x-live-internal"


class InternalListener:
    """A loopback-only HTTP listener on a free port, serving one ASGI app."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self._app = app
        self._secret = secret.encode()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, host: str = "127.0.0.1") -> str:
        """Listen on a free port; the address siblings reach it at."""
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
        except (OSError, TimeoutError, h11.ProtocolError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        request: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY_BYTES:
                    return
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                return  # closed before a whole request
        assert request is not None
        headers = [(name.lower(), value) for name, value in request.headers]
        given = next((v for k, v in headers if k == SECRET_HEADER.encode()), b"")
        if not hmac.compare_digest(given, self._secret):
            await _answer(writer, conn, 403, [], b"")
            return
        status, out_headers, data = await self._call(request, headers, b"".join(chunks), writer)
        await _answer(writer, conn, status, out_headers, data)

    async def _call(
        self,
        request: h11.Request,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        path, _, query = bytes(request.target).partition(b"?")
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method.decode("ascii"),
            "scheme": "http",
            "path": path.decode("latin-1"),
            "raw_path": path,
            "query_string": query,
            "root_path": "",
            "headers": headers,
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
        dropped = (b"content-length", b"connection")
        kept = [(k, v) for k, v in out_headers if k.lower() not in dropped]
        return status, kept, b"".join(chunks)


async def _answer(
    writer: asyncio.StreamWriter,
    conn: h11.Connection,
    status: int,
    headers: list[tuple[bytes, bytes]],
    data: bytes,
) -> None:
    head = [*headers, (b"content-length", str(len(data)).encode()), (b"connection", b"close")]
    writer.write(conn.send(h11.Response(status_code=status, headers=head)) or b"")
    writer.write(conn.send(h11.Data(data=data)) or b"")
    writer.write(conn.send(h11.EndOfMessage()) or b"")
    await writer.drain()
