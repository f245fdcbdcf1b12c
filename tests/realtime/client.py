"""A websocket client of the room channel for tests: real `websockets` over loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Event = dict[str, Any]


class ChannelClient:
    """Reads frames (JSON arrays) and hands out their events one by one."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.buffer: list[Event] = []
        self.seen: list[Event] = []

    async def next(self, within: float = 10.0) -> Event:
        while not self.buffer:
            raw = await asyncio.wait_for(self.ws.recv(), within)
            events = orjson.loads(raw)
            assert isinstance(events, list) and events, raw
            self.buffer.extend(events)
        event = self.buffer.pop(0)
        self.seen.append(event)
        return event

    async def until(self, match: Callable[[Event], bool], within: float = 10.0) -> Event:
        """The next event that matches, skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            event = await self.next(max(0.1, deadline - loop.time()))
            if match(event):
                return event

    async def of_type(self, kind: str, within: float = 10.0) -> Event:
        return await self.until(lambda e: e["type"] == kind, within)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def closed_code(self, within: float = 10.0) -> int | None:
        """Read until the server closes; the close code."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.wait_for(self.ws.recv(), within)
        return self.ws.close_code


def channel_url(
    ws_url: str,
    room_id: str,
    token: str | None = None,
    since: int | None = None,
    epoch: str | None = None,
) -> str:
    query = {
        k: v for k, v in {"token": token, "since": since, "epoch": epoch}.items() if v is not None
    }
    suffix = "?" + urlencode(query) if query else ""
    return f"{ws_url}/ws/rooms/{room_id}{suffix}"


@contextlib.asynccontextmanager
async def channel(
    ws_url: str,
    room_id: str,
    token: str | None = None,
    since: int | None = None,
    epoch: str | None = None,
    **options: Any,
) -> AsyncIterator[ChannelClient]:
    url = channel_url(ws_url, room_id, token, since, epoch)
    # Unbounded: with frames left unread past websockets' default of 16, the client stops
    # reading its socket, so it never sees the server's close frame and closing takes
    # close_timeout (10 s) instead of a round trip.
    options.setdefault("max_queue", None)
    async with connect(url, open_timeout=20, **options) as ws:
        yield ChannelClient(ws)
