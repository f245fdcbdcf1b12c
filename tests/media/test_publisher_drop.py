"""The publisher's connection drops without a DELETE, and the host comes back.

Viewers keep their WHEP sessions: the room goes not-live (`live_ended`) while the host is
away, live again (`live_started`) on the host's new WHIP session, and the same viewer
sessions play the new publisher's frames from a keyframe.
"""

from __future__ import annotations

import time

import aioice.ice
import pytest

from live.media.frames import is_keyframe
from tests.conftest import LiveServer
from tests.media.peers import CounterTrack, Peer, cut_network, publish, watch
from tests.media.test_relay import close_all, eventually, hub_of, room_events

# The new publisher's counters start here, so its frames are told apart from the old one's.
SECOND = 100000


@pytest.fixture(autouse=True)
def quick_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    # aioice checks ICE consent every 5 s and gives up after 6 unanswered checks (about
    # 30 s); every 0.25 s here, so a silent peer is noticed within about 5 s.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.25)


async def is_live(server: LiveServer, room_id: str) -> bool:
    answer = await server.http.get(f"/api/rooms/{room_id}")
    assert answer.status_code == 200
    return bool(answer.json()["live"])


async def live_events(server: LiveServer, room_id: str) -> list[str]:
    return [t for t in await room_events(server, room_id) if t.startswith("live_")]


async def went_dark(server: LiveServer, room_id: str) -> bool:
    """The room is not live and its last live event is `live_ended`."""
    events = await live_events(server, room_id)
    return bool(events) and events[-1] == "live_ended" and not await is_live(server, room_id)


async def plays_the_new_publisher(viewer: Peer, since: float, within: float = 10.0) -> None:
    """The viewer gets the new publisher's frames, first a keyframe, then in order."""
    await eventually(lambda: sum(c >= SECOND for c in viewer.counters) >= 15, within=within)
    frames = [(at, f) for at, f in viewer.frames if int.from_bytes(f.data[1:5], "big") >= SECOND]
    first_at, first = frames[0]
    assert is_keyframe("vp8", first.data), "the new picture starts on a keyframe"
    counters = [int.from_bytes(f.data[1:5], "big") for _, f in frames]
    assert counters == list(range(counters[0], counters[0] + len(counters)))
    assert first_at - since < within


async def test_publisher_connection_dropped_and_restored(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    hub = hub_of(live_server)
    first = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    second: Peer | None = None
    try:
        await viewer.wait_frames(10)
        assert await is_live(live_server, room_id)
        viewer_ids = [s.session_id for s in hub.sessions.values() if s.role == "viewer"]

        # The publisher's network goes silent: no DELETE, no DTLS close.
        cut_network(first.pc)
        await eventually(lambda: "publisher" not in [s.role for s in hub.sessions.values()])
        await eventually(lambda: went_dark(live_server, room_id), within=5)
        assert await live_events(live_server, room_id) == ["live_started", "live_ended"]
        # The viewer's session stays: same session, still connected, nothing new to play.
        assert [s.session_id for s in hub.sessions.values()] == viewer_ids
        assert viewer.pc.connectionState == "connected"

        # The host comes back with a new WHIP session (a reloaded studio); no new WHEP.
        back = time.monotonic()
        second = await publish(live_server.http, room_id, token, CounterTrack(first=SECOND))
        await eventually(lambda: is_live(live_server, room_id))
        assert await live_events(live_server, room_id) == [
            "live_started",
            "live_ended",
            "live_started",
        ]
        await plays_the_new_publisher(viewer, back)
        counters = viewer.counters
        resumed = next(i for i, c in enumerate(counters) if c >= SECOND)
        assert all(c >= SECOND for c in counters[resumed:]), "nothing old after the new picture"
        assert [s.session_id for s in hub.sessions.values() if s.role == "viewer"] == viewer_ids
        assert viewer.pc.connectionState == "connected"
    finally:
        await close_all(viewer, first, *([second] if second else []))


async def test_viewer_who_joined_while_the_host_was_away(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    hub = hub_of(live_server)
    first = await publish(live_server.http, room_id, token, CounterTrack())
    early = await watch(live_server.http, room_id)
    late: Peer | None = None
    second: Peer | None = None
    try:
        await early.wait_frames(10)
        # A closed studio tab: the peer connection goes without a DELETE.
        await first.close()
        await eventually(lambda: "publisher" not in [s.role for s in hub.sessions.values()])
        await eventually(lambda: went_dark(live_server, room_id), within=5)
        assert await live_events(live_server, room_id) == ["live_started", "live_ended"]

        late = await watch(live_server.http, room_id)
        await eventually(lambda: late is not None and late.pc.connectionState == "connected")
        assert late.frames == []
        assert [s.role for s in hub.sessions.values()] == ["viewer", "viewer"]

        back = time.monotonic()
        second = await publish(live_server.http, room_id, token, CounterTrack(first=SECOND))
        await eventually(lambda: is_live(live_server, room_id))
        await plays_the_new_publisher(early, back)
        await plays_the_new_publisher(late, back)
        assert all(c >= SECOND for c in late.counters)
        assert (await live_events(live_server, room_id))[-1] == "live_started"
    finally:
        await close_all(early, first, *[p for p in (late, second) if p is not None])
