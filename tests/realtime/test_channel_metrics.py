"""The room channel's counters, read from /metrics as an operator reads them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson

from tests.conftest import LiveServer
from tests.realtime.client import ChannelClient, Event, channel

FRAMES_SENT = "live_ws_frames_sent_total"


async def _frames_sent(server: LiveServer) -> float:
    answer = await server.http.get("/metrics")
    for line in answer.text.splitlines():
        if line.startswith(FRAMES_SENT + " "):
            return float(line.split()[1])
    raise AssertionError(f"{FRAMES_SENT} missing from /metrics")


def _two_viewers(event: Event) -> bool:
    # The event, not a snapshot that already counts both: every connection that was there
    # when the second viewer was counted gets the event, Bo included (he joins first).
    return event["type"] == "viewers" and event.get("count") == 2


async def _count_frames(client: ChannelClient, expected: list[Callable[[Event], bool]]) -> int:
    """Read whole frames until every `expected` event has come; how many frames that was."""
    frames = 0
    waiting = list(expected)
    while waiting:
        events = orjson.loads(await asyncio.wait_for(client.ws.recv(), 10))
        frames += 1
        waiting = [match for match in waiting if not any(match(e) for e in events)]
    return frames


async def test_frames_sent_counts_frames_not_connections(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    mei = await live_server.new_viewer("Mei")
    bo = await live_server.new_viewer("Bo")
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, mei["token"]) as mei_ws,
        channel(live_server.ws_url, room_id, bo["token"]) as bo_ws,
    ):
        # Everyone has seen both viewers arrive: no frame is on its way any more.
        for client in (host, mei_ws, bo_ws):
            await client.until(_two_viewers)
        before = await _frames_sent(live_server)
        # A personal event (Bo's mute) and a broadcast one (the chat).
        await host.send({"type": "mute", "user_id": bo["user_id"], "seconds": 60})
        await host.send({"type": "chat", "text": "done"})

        def done(e: Event) -> bool:
            return e["type"] == "chat" and e.get("text") == "done"

        def muted(e: Event) -> bool:
            return bool(e["type"] == "muted")

        received = sum(
            await asyncio.gather(
                _count_frames(host, [done]),
                _count_frames(mei_ws, [done]),
                _count_frames(bo_ws, [muted, done]),
            )
        )
        assert received >= 4
        assert await _frames_sent(live_server) - before == received
