"""Finding 7: a client that completes the websocket handshake and then stops reading (and
never answers a ping) loses its connection, and its per-address slot, after the timeout."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
from websockets.exceptions import InvalidStatus

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.realtime.client import channel


@pytest.fixture
async def settings() -> Settings:
    return make_settings(
        LIVE_LIMITS_CONNECTIONS_PER_IP="1",
        LIVE_REALTIME_PING_S="0.5",
        LIVE_REALTIME_PING_TIMEOUT_S="1",
    )


async def _silent_client(port: int, path: str) -> asyncio.StreamWriter:
    """A raw socket that upgrades to a websocket and then never reads or answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status = await reader.readline()
    assert b" 101 " in status, status
    return writer


async def _admitted(server: LiveServer, room_id: str) -> bool:
    try:
        async with channel(server.ws_url, room_id) as client:
            first = await client.next()
            return bool(first["type"] == "snapshot")
    except (InvalidStatus, OSError, TimeoutError, AssertionError):
        return False
    except Exception:  # closed with 1013 (too many connections from this address)
        return False


async def test_a_client_that_stops_reading_loses_its_slot_after_the_ping_timeout(
    live_server: LiveServer,
) -> None:
    room_id = (await live_server.new_room())["room_id"]
    port = int(live_server.base_url.rsplit(":", 1)[1])
    silent = await _silent_client(port, f"/ws/rooms/{room_id}")
    try:
        # Its one slot is taken: a second connection from loopback is refused...
        assert not await _admitted(live_server, room_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # ...until the unanswered ping times out and the slot is freed.
        while not await _admitted(live_server, room_id):
            assert loop.time() - started < 10, "the silent client's slot was never freed"
            await asyncio.sleep(0.1)
    finally:
        silent.close()
