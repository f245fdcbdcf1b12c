"""The outbox writes at once while the connection keeps up, queues in order while it
does not, and drops a connection whose backlog passes the limit."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from live.realtime.outbox import Outbox, wire_frame


class PausableSend:
    """An ASGI `send` that waits while the transport is paused, as uvicorn's does."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[Any] = []

    async def send(self, message: dict[str, Any]) -> None:
        await self.writable.wait()
        self.sent.append(message.get("text", message.get("code")))


async def test_frames_go_out_synchronously_while_the_connection_keeps_up() -> None:
    transport = PausableSend()
    outbox = Outbox(transport.send, 100, lambda code: None)
    for text in ("a", "b", "c"):
        assert outbox.push(text)
    # No await happened: the frames are already written.
    assert transport.sent == ["a", "b", "c"]


async def test_a_paused_connection_gets_its_frames_in_order_once_it_drains() -> None:
    transport = PausableSend()
    outbox = Outbox(transport.send, 100, lambda code: None)
    transport.writable.clear()
    for text in ("a", "b", "c"):
        assert outbox.push(text)
    assert transport.sent == []
    assert outbox.backlog_bytes == 2
    transport.writable.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.sent == ["a", "b", "c"]
    assert outbox.backlog_bytes == 0
    outbox.push("d")
    assert transport.sent == ["a", "b", "c", "d"]


async def test_past_the_limit_the_backlog_is_dropped_and_4008_follows() -> None:
    transport = PausableSend()
    closed: list[int] = []
    outbox = Outbox(transport.send, 10, closed.append)
    transport.writable.clear()
    outbox.push("first")
    assert outbox.push("x" * 6)
    assert not outbox.push("y" * 6)
    assert closed == [4008]
    assert not outbox.push("late")
    transport.writable.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.sent == ["first", 4008]


def test_ready_made_frames_parse_as_one_text_message_at_every_length_encoding() -> None:
    # websockets' own client parser: 7-bit, 16-bit and 64-bit payload lengths.
    client = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN)
    for size in (0, 125, 126, 65535, 65536, 100_000):
        payload = ("é" * size).encode()[:size].decode(errors="ignore").encode()
        client.receive_data(wire_frame(payload))
        [received] = client.events_received()
        assert isinstance(received, Frame)
        assert received.opcode == Opcode.TEXT and received.fin
        assert received.data == payload
