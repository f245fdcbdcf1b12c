"""WHIP/WHEP through the relay with real aiortc peers over loopback."""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import time
import warnings
import weakref
from typing import Any

import orjson

from live.media.hub import MediaHub
from tests.conftest import LiveServer
from tests.media.peers import CounterTrack, Peer, publish, synthetic_frame, watch


def hub_of(server: LiveServer) -> MediaHub:
    hub = server.parts.media_hub
    assert isinstance(hub, MediaHub)
    return hub


async def room_events(server: LiveServer, room_id: str) -> list[str]:
    svc = server.parts
    history = await svc.redis.xrange(svc.keys.room_history(room_id))
    return [orjson.loads(fields[b"e"])["type"] for _, fields in history]


async def eventually(check: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def no_tasks_left_since(before: set[asyncio.Task[Any]], within: float = 15.0) -> None:
    """Wait until every task started since `before` was taken has ended: the sessions made
    in between (server side and test peers alike) leave nothing running. Tasks of the
    session-wide loop that were already there are not counted."""
    deadline = time.monotonic() + within
    while left := asyncio.all_tasks() - before:
        if time.monotonic() > deadline:
            raise AssertionError(f"tasks left running: {sorted(map(repr, left))}")
        await asyncio.sleep(0.05)


async def close_all(*peers: Peer) -> None:
    for peer in peers:
        await peer.close()


async def test_viewer_before_live_gets_the_publishers_frames_untouched(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    viewer = await watch(live_server.http, room_id, audio=True)
    assert (await live_server.http.get(f"/api/rooms/{room_id}")).json()["live"] is False
    track = CounterTrack()
    publisher = await publish(live_server.http, room_id, room["host_token"], track, audio=True)
    try:
        await viewer.wait_frames(30)
        first = viewer.frames[0][1]
        assert first.data[0] & 1 == 0, "a viewer starts on a keyframe"
        counters = viewer.counters
        # Every frame after the first, in order, byte for byte what the publisher sent.
        assert counters == list(range(counters[0], counters[0] + len(counters)))
        for _, frame in viewer.frames[1:]:
            counter = int.from_bytes(frame.data[1:5], "big")
            assert frame.data[5:] == synthetic_frame(counter, False)[5:]
        await eventually(lambda: len(viewer.audio) >= 10)
        sounds = [int.from_bytes(f.data[1:5], "big") for f in viewer.audio]
        assert sounds == sorted(sounds)
        answer = await live_server.http.get(f"/api/rooms/{room_id}")
        assert answer.json()["live"] is True
        assert "live_started" in await room_events(live_server, room_id)

        # The server's RTCP sender reports count what the viewer got (RTP/NTP for sync).
        async def sender_reports() -> list[Any]:
            reports = []
            for transceiver in viewer.pc.getTransceivers():
                stats = await transceiver.receiver.getStats()
                reports += [s for s in stats.values() if s.type == "remote-outbound-rtp"]
            return reports

        await eventually(lambda: _two(sender_reports()), within=20)
        for report in await sender_reports():
            assert report.packetsSent > 0 and report.bytesSent > report.packetsSent
            assert abs(report.remoteTimestamp.timestamp() - time.time()) < 10
    finally:
        await close_all(viewer, publisher)


async def _two(reports: Any) -> bool:
    """True once sender reports for both audio and video have arrived."""
    return len({r.kind for r in await reports}) == 2


async def test_late_viewer_gets_a_keyframe_within_a_second(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    track = CounterTrack()  # keyframes only when asked
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], track)
    await eventually(lambda: track.counter > 60)
    asked = track.keyframes
    started = time.monotonic()
    viewer = await watch(live_server.http, room["room_id"])
    try:
        await viewer.wait_frames(1)
        received_at, frame = viewer.frames[0]
        assert frame.data[0] & 1 == 0
        assert track.keyframes > asked, "the relay asked the publisher for a keyframe"
        assert received_at - started < 3.0  # about 0.2 s unloaded; generous for CI
    finally:
        await close_all(viewer, publisher)


async def test_host_takeover_keeps_viewers_playing(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    first = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    second: Peer | None = None
    try:
        await viewer.wait_frames(10)
        track = CounterTrack(first=100000)
        second = await publish(live_server.http, room_id, token, track)
        await eventually(lambda: viewer.counters[-1] >= 100010)
        await eventually(lambda: first.pc.connectionState in ("closed", "failed"), within=40)
        hub = hub_of(live_server)
        assert [s.role for s in hub.sessions.values()].count("publisher") == 1
        types = await room_events(live_server, room_id)
        assert types.count("live_started") == 1 and "live_ended" not in types
        # The viewer's timeline moved forward across the change of publisher.
        frames = [f for _, f in viewer.frames]
        assert all(
            (b.timestamp - a.timestamp) % (1 << 32) < (1 << 31)
            for a, b in itertools.pairwise(frames)
        )
    finally:
        await close_all(viewer, first, *([second] if second else []))


async def test_delete_ends_sessions_and_the_live_state(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    hub = hub_of(live_server)
    tasks_before = asyncio.all_tasks()
    fds_after_first: int | None = None
    # Dropping a socket object closes it too: the warning it then gives shows a missed close.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            publisher = await publish(live_server.http, room_id, token, CounterTrack())
            viewer = await watch(live_server.http, room_id)
            await viewer.wait_frames(5)
            answer = await live_server.as_user(token, "DELETE", publisher.location)
            assert answer.status_code == 200
            answer = await live_server.http.delete(viewer.location)
            assert answer.status_code == 200
            assert (await live_server.http.delete(viewer.location)).status_code == 404
            await close_all(viewer, publisher)
            if fds_after_first is None:
                fds_after_first = len(os.listdir("/proc/self/fd"))
        gc.collect()
    assert not [w for w in caught if "unclosed <socket" in str(w.message)]
    assert not hub.sessions and not hub.relays
    # Sockets (and the descriptors the senders duplicate for sendmsg) are all given back.
    assert fds_after_first is not None
    assert len(os.listdir("/proc/self/fd")) <= fds_after_first + 2
    room_now = (await live_server.http.get(f"/api/rooms/{room_id}")).json()
    assert room_now["live"] is False
    types = [t for t in await room_events(live_server, room_id) if t.startswith("live_")]
    assert types == ["live_started", "live_ended"] * 3
    svc = live_server.parts

    async def owner_released() -> bool:
        return int(await svc.redis.exists(svc.keys.room_media_owner(room_id))) == 0

    await eventually(owner_released)
    await no_tasks_left_since(tasks_before)


async def test_ended_room_stops_its_video(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    publisher = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    try:
        await viewer.wait_frames(5)
        answer = await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")
        assert answer.status_code == 200
        await eventually(lambda: not hub_of(live_server).sessions)
        answer = await live_server.as_user(
            token,
            "POST",
            f"/api/rooms/{room_id}/whip",
            content=publisher.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        )
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "room_ended"
    finally:
        await close_all(viewer, publisher)


async def test_a_room_left_live_by_a_dead_process_is_reset(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    svc = live_server.parts
    await svc.rooms.set_live(room_id, True, svc.clock.now_ms())  # as if its media process died
    viewer = await watch(live_server.http, room_id)
    try:
        answer = await live_server.http.get(f"/api/rooms/{room_id}")
        assert answer.json()["live"] is False
        assert "live_ended" in await room_events(live_server, room_id)
    finally:
        await viewer.close()


async def test_peers_that_go_away_without_delete_are_cleaned_up(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    publisher = await publish(live_server.http, room_id, room["host_token"], CounterTrack())
    viewer = await watch(live_server.http, room_id)
    await viewer.wait_frames(5)
    hub = hub_of(live_server)
    assert len(hub.sessions) == 2
    await viewer.close()  # a closed tab: DTLS goes away, no DELETE
    await publisher.close()
    await eventually(lambda: not hub.sessions and not hub.relays, within=60)
    answer = await live_server.http.get(f"/api/rooms/{room_id}")
    assert answer.json()["live"] is False
    assert (await room_events(live_server, room_id))[-1] == "live_ended"


async def test_many_joins_and_leaves_leave_nothing_behind(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    publisher = await publish(live_server.http, room_id, room["host_token"], CounterTrack())
    hub = hub_of(live_server)
    try:
        first = await watch(live_server.http, room_id)
        await first.wait_frames(3)
        await live_server.http.delete(first.location)
        await first.close()
        await eventually(lambda: [s.role for s in hub.sessions.values()] == ["publisher"])
        # From here on only the eight viewers below start tasks.
        tasks_before = asyncio.all_tasks()
        left: list[weakref.ref[Any]] = []
        for _ in range(8):
            viewer = await watch(live_server.http, room_id)
            await viewer.wait_frames(3)
            left += [weakref.ref(s.pc) for s in hub.sessions.values() if s.role == "viewer"]
            assert (await live_server.http.delete(viewer.location)).status_code == 200
            await viewer.close()
        await eventually(lambda: [s.role for s in hub.sessions.values()] == ["publisher"])
        assert not hub.relays[room_id].viewers
        await no_tasks_left_since(tasks_before)

        def freed() -> bool:
            # Timers still scheduled on the loop (not tasks) may hold a peer a moment longer.
            gc.collect()
            return all(ref() is None for ref in left)

        await eventually(freed)  # closed peer connections are freed
    finally:
        await publisher.close()


async def test_a_stuck_peer_close_does_not_hold_the_delete(
    live_server: LiveServer, monkeypatch: Any, caplog: Any
) -> None:
    """A transport that never finishes stopping costs the DELETE a bounded wait, logged
    once, and the session is gone all the same."""
    monkeypatch.setattr("live.media.hub.PEER_CLOSE_TIMEOUT_S", 0.2)
    room = await live_server.new_room()
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], CounterTrack())
    viewer = await watch(live_server.http, room["room_id"])
    hub = hub_of(live_server)
    try:
        await viewer.wait_frames(3)
        (session,) = [s for s in hub.sessions.values() if s.role == "viewer"]
        real_close = session.pc.close
        never = asyncio.Event()

        async def stuck_close() -> None:
            await never.wait()

        session.pc.close = stuck_close  # type: ignore[method-assign]
        answer = await live_server.http.delete(viewer.location)
        assert answer.status_code == 200
        assert session.session_id not in hub.sessions
        warned = [r for r in caplog.records if r.getMessage() == "peer connection close timed out"]
        assert len(warned) == 1
        await real_close()
    finally:
        await close_all(viewer, publisher)


async def test_a_publishers_late_delete_finds_its_session_ended(live_server: LiveServer) -> None:
    """A WHIP client that closes its connection and then deletes its resource (whip.js's
    `stop()` does) is answered 200 once the server saw the publisher leave; a session
    that never was is still 404, and a second DELETE after one answered is 404 too."""
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    publisher = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    await viewer.wait_frames(5)
    await publisher.pc.close()
    hub = hub_of(live_server)
    await eventually(lambda: not any(s.role == "publisher" for s in hub.sessions.values()))
    assert (await live_server.as_user(token, "DELETE", publisher.location)).status_code == 200
    made_up = publisher.location.rsplit("/", 1)[0] + "/p0000000000000000"
    assert (await live_server.as_user(token, "DELETE", made_up)).status_code == 404
    # A publisher deleted by its client is done: its DELETE again is 404.
    again = await publish(live_server.http, room_id, token, CounterTrack())
    assert (await live_server.as_user(token, "DELETE", again.location)).status_code == 200
    assert (await live_server.as_user(token, "DELETE", again.location)).status_code == 404
    await close_all(viewer, again)
