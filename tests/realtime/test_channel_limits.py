"""Slow consumers, personal events and the word filter, with settings made for them, over
both send paths."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from live.settings import Settings
from tests.conftest import ADMIN_TOKEN, LiveServer, make_settings
from tests.realtime.client import channel
from tests.realtime.conftest import send_path_env

SEND_BUFFER = 65536


@pytest.fixture
async def settings(send_path: str) -> Settings:
    # Every test here runs over both send paths (tests/realtime/conftest.py).
    return make_settings(
        **send_path_env(send_path),
        LIVE_REALTIME_SEND_BUFFER_BYTES=str(SEND_BUFFER),
        LIVE_CHAT_WORD_FILTER="darn,heck",
        LIVE_LIMITS_CONNECTIONS_PER_IP="4",
    )


class StalledClient:
    """A websocket client that stops reading after the handshake, on a socket with a
    small receive buffer (the `websockets` client keeps reading into memory)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, uri: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = ClientProtocol(parse_uri(uri), max_size=None)

    @classmethod
    async def open(cls, ws_url: str, room_id: str) -> StalledClient:
        host, port = ws_url.split("//")[1].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        self = cls(reader, writer, f"{ws_url}/ws/rooms/{room_id}")
        self.protocol.send_request(self.protocol.connect())
        writer.write(b"".join(self.protocol.data_to_send()))
        # Read just the handshake answer and stop there.
        head = await reader.readuntil(b"\r\n\r\n")
        self.protocol.receive_data(head)
        assert self.protocol.handshake_exc is None
        return self

    async def read_to_close(self, within: float) -> int | None:
        """Read everything the server sent; the close code it ended with."""
        async with asyncio.timeout(within):
            while self.protocol.close_rcvd is None:
                data = await self.reader.read(1 << 20)
                if not data:
                    break
                self.protocol.receive_data(data)
                self.protocol.events_received()
        self.writer.close()
        return self.protocol.close_rcvd.code if self.protocol.close_rcvd else None


def _sale_matcher(sale_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("sale_id") == sale_id


async def test_a_client_that_does_not_read_is_dropped_and_others_keep_up(
    live_server: LiveServer,
) -> None:
    svc = live_server.parts
    room = await live_server.new_room()
    room_id = room["room_id"]
    stalled = await StalledClient.open(live_server.ws_url, room_id)
    async with channel(live_server.ws_url, room_id, max_size=None) as reader:
        await reader.next()
        channel_name = svc.keys.room_channel(room_id)
        padding = "x" * 8000
        started = time.monotonic()
        total = 2500  # 20 MB: far past every buffer between the server and the stalled client
        for start in range(0, total, 250):
            async with svc.redis.pipeline(transaction=False) as pipe:
                for n in range(start, start + 250):
                    event = {"type": "stock", "sale_id": f"s{n}", "left": n, "pad": padding}
                    pipe.spublish(channel_name, orjson.dumps(event))
                await pipe.execute()
            # The reader keeps receiving while the stalled client is being dropped.
            await reader.until(_sale_matcher(f"s{start + 249}"))
        assert time.monotonic() - started < 60
        # Once it reads again, the stalled client finds the close code that says why.
        assert await stalled.read_to_close(within=30) == 4008
        await reader.send({"type": "ping"})
        assert (await reader.of_type("pong"))["type"] == "pong"


async def test_personal_events_reach_their_user_and_orders_the_host(
    live_server: LiveServer,
) -> None:
    svc = live_server.parts
    room = await live_server.new_room()
    room_id = room["room_id"]
    buyer = await live_server.new_viewer("Buyer")
    other = await live_server.new_viewer("Other")
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, buyer["token"]) as buyer_ws,
        channel(live_server.ws_url, room_id, other["token"]) as other_ws,
    ):
        clients = {}
        for client in (host, buyer_ws, other_ws):
            clients[(await client.next())["you"]["user_id"]] = client
        order = {"type": "order", "to": buyer["user_id"], "order": {"order_id": "o_1"}}
        await svc.events.volatile(room_id, order)
        await svc.events.volatile(room_id, {"type": "note", "to": other["user_id"]})
        # Then one personal marker each. Events reach a connection in the order they were
        # published (a tick's broadcast frame before its personal one), so anything the
        # order or the note brought a connection came before its marker.
        for user_id in clients:
            await svc.events.volatile(room_id, {"type": "marker", "to": user_id})
        for user_id, client in clients.items():
            assert (await client.of_type("marker"))["to"] == user_id
        assert [e["order"]["order_id"] for e in buyer_ws.seen if e["type"] == "order"] == ["o_1"]
        assert [e["order"]["order_id"] for e in host.seen if e["type"] == "order"] == ["o_1"]
        assert [e["to"] for e in other_ws.seen if e["type"] == "note"] == [other["user_id"]]
        assert not any(e["type"] == "order" for e in other_ws.seen)
        assert not any(e["type"] == "note" for e in buyer_ws.seen + host.seen)
        assert not any(
            e["type"] == "marker" and e["to"] != user for user, c in clients.items() for e in c.seen
        )


async def test_chat_goes_through_the_word_filter(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    viewer = await live_server.new_viewer()
    async with channel(live_server.ws_url, room["room_id"], viewer["token"]) as mei:
        await mei.next()
        await mei.send({"type": "chat", "text": "Darn, what the HECK"})
        assert (await mei.of_type("chat"))["text"] == "****, what the ****"


async def test_one_address_may_hold_only_so_many_connections(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(4):
            client = await stack.enter_async_context(channel(live_server.ws_url, room["room_id"]))
            await client.next()
        async with channel(live_server.ws_url, room["room_id"]) as one_too_many:
            assert await one_too_many.closed_code() == 1013


VIEWER_RATE = 20  # [realtime] inbound_rate, the default (bursts of twice that)


@pytest.mark.parametrize("role", ["host", "admin"])
async def test_a_staff_tool_sends_50_chats_a_second_while_a_viewer_is_still_held(
    live_server: LiveServer, role: str
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    staff_token = room["host_token"] if role == "host" else ADMIN_TOKEN
    watcher = await live_server.new_viewer("Mei")
    flooder = await live_server.new_viewer("Bo")
    loop = asyncio.get_running_loop()
    async with (
        channel(live_server.ws_url, room_id, staff_token) as staff,
        channel(live_server.ws_url, room_id, watcher["token"]) as mei,
        channel(live_server.ws_url, room_id, flooder["token"]) as bo,
    ):
        for client in (staff, mei, bo):
            await client.next()

        async def staff_tool() -> None:
            """100 chat messages in 2 s: a host tool's pace, 50 a second."""
            started = loop.time()
            for n in range(100):
                await staff.send({"type": "chat", "text": f"staff {n}"})
                await asyncio.sleep(max(0.0, started + (n + 1) / 50 - loop.time()))

        async def viewer_flood() -> tuple[int, int, float]:
            """100 pings at once; the pongs, the refusals and the seconds until all answers."""
            started = loop.time()
            for _ in range(100):
                await bo.send({"type": "ping"})
            answers = [await bo.until(lambda e: e["type"] in ("pong", "error")) for _ in range(100)]
            refused = [e for e in answers if e["type"] == "error"]
            assert {e["code"] for e in refused} == {"rate_limited"}
            return len(answers) - len(refused), len(refused), loop.time() - started

        _, (pongs, refused, flood_s) = await asyncio.gather(staff_tool(), viewer_flood())
        # No refusal comes back to the staff tool before its own last message.
        last = await staff.until(
            lambda e: e["type"] == "error" or (e["type"] == "chat" and e["text"] == "staff 99")
        )
        assert last["type"] == "chat", last
        chats = [
            await mei.until(lambda e: e["type"] == "chat" and e["text"].startswith("staff "))
            for _ in range(100)
        ]
        assert [c["text"] for c in chats] == [f"staff {n}" for n in range(100)]
        seqs = [c["seq"] for c in chats]
        assert seqs == list(range(seqs[0], seqs[0] + 100))
        assert last["seq"] == seqs[-1]
        # The viewer's limit is as it was: its burst, then its rate.
        assert 2 * VIEWER_RATE <= pongs <= 2 * VIEWER_RATE + VIEWER_RATE * flood_s + 1
        assert refused >= 100 - 2 * VIEWER_RATE - VIEWER_RATE * flood_s - 1
