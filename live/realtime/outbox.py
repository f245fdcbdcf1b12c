"""Writing frames to one connection without a task or queue per connection.

An ASGI `send` only suspends when the server's transport is over its high-water mark
(uvicorn: `pause_writing`). So `push` runs the send coroutine by hand: almost always it
finishes at once and the frame is on the transport, as with `websockets.broadcast()`.
When it suspends, the connection has fallen behind: a drain task is started for this
connection only, later frames wait in a backlog, and past `limit` bytes the backlog is
dropped and the connection is closed with 4008 (`CLOSE_TOO_SLOW`). No one else ever waits for it.

Under uvicorn's websockets-sansio protocol a frame can skip the ASGI `send` altogether: a
server's text frame is the same bytes for every connection, so the hub builds it once
(`wire_frame`) and `DirectWriter` (live.realtime.uvicorn_private) hands it to the
connection's transport whenever `send` itself would write at once. Anything else (paused
writing, closing, another server, `[realtime] direct_write = false`) takes the ASGI path,
so correctness never depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from websockets.frames import Frame, Opcode

from live.realtime.protocol import CLOSE_TOO_SLOW
from live.realtime.uvicorn_private import DirectWriter

log = logging.getLogger("live.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]
# How long a dropped or closed connection may take to take its close frame.
CLOSE_GRACE_S = 10.0


def text_message(text: str) -> dict[str, Any]:
    """The ASGI message sending one text frame."""
    return {"type": "websocket.send", "text": text}


def wire_frame(payload: bytes) -> bytes:
    """One unfragmented, uncompressed, unmasked text frame (RFC 6455 5.2) of `payload`,
    serialized by websockets.

    Uncompressed frames stay valid when permessage-deflate was negotiated (RFC 7692 6)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


class Outbox:
    """The frames on their way to one connection, bounded to `limit` bytes."""

    def __init__(
        self,
        send: Send,
        limit: int,
        on_closed: Callable[[int], None],
        direct: DirectWriter | None = None,
    ) -> None:
        self._send = send
        self._direct = direct
        self._limit = limit
        self._on_closed = on_closed
        self._backlog: deque[dict[str, Any]] = deque()
        self._backlog_bytes = 0
        self._drain: asyncio.Task[None] | None = None
        self._close_code: int | None = None
        self.closed = False

    def push(self, text: str) -> bool:
        """Queue one text frame; False when the connection is closed or was just dropped."""
        # Built only when it can be written now: behind a drain, frames wait in the backlog.
        direct = self._direct is not None and self._drain is None
        wire = wire_frame(text.encode()) if direct else None
        return self.push_message(text_message(text), wire)

    def push_message(self, message: dict[str, Any], wire: bytes | None = None) -> bool:
        """`push` for a message made once by `text_message` (and its `wire_frame`) and
        shared by many outboxes."""
        if self._close_code is not None or self.closed:
            return False
        if self._drain is None:
            if wire is not None and self._direct is not None and self._direct.write(wire):
                return True
            self._start(message)
            return not self.closed
        self._backlog.append(message)
        self._backlog_bytes += len(message["text"])
        if self._backlog_bytes > self._limit:
            self._backlog.clear()
            self._backlog_bytes = 0
            self.close(CLOSE_TOO_SLOW, "too slow: reconnect with since")
            return False
        return True

    def close(self, code: int, reason: str = "") -> None:
        """Close after the frames already queued (a dropped backlog is not waited for)."""
        if self._close_code is not None or self.closed:
            return
        self._close_code = code
        self._on_closed(code)
        message = {"type": "websocket.close", "code": code, "reason": reason}
        if self._drain is None:
            self._start(message)
        else:
            self._backlog.append(message)

    @property
    def writes_direct(self) -> bool:
        """Whether ready-made frames can skip the ASGI `send` (see `DirectWriter`)."""
        return self._direct is not None

    @property
    def backlog_bytes(self) -> int:
        return self._backlog_bytes

    def _start(self, message: dict[str, Any]) -> None:
        coro = self._send(message)
        assert isinstance(coro, Coroutine)
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return
        except Exception:
            # The peer is gone (disconnect, closed transport): nothing more to write.
            self.closed = True
            coro.close()
            return
        self._drain = asyncio.get_running_loop().create_task(self._finish(coro, waiting_on))

    async def _finish(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        """Drive the suspended send to its end, then write the backlog in order."""
        try:
            await _resume(coro, waiting_on)
            while self._backlog:
                message = self._backlog.popleft()
                if message["type"] == "websocket.send":
                    self._backlog_bytes -= len(message["text"])
                    await self._send(message)
                else:
                    await asyncio.wait_for(self._send(message), CLOSE_GRACE_S)
        except (Exception, asyncio.CancelledError):
            self.closed = True
        finally:
            self._drain = None


async def _resume(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Finish a coroutine that was stepped by hand and suspended on `waiting_on`."""
    try:
        while True:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                await asyncio.wait((waiting_on,))
            waiting_on = coro.send(None)
    except StopIteration:
        return
    finally:
        # Only does something if we stopped early (cancelled): unwinds the send's finally.
        with contextlib.suppress(RuntimeError):
            coro.close()
