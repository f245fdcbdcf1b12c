"""What a viewer sees: a real VP8 picture for a late joiner, losses repaired by NACK."""

from __future__ import annotations

import asyncio
import time

from aiortc import RTCConfiguration, RTCPeerConnection

from live.media import aiortc_private
from tests.conftest import LiveServer
from tests.media.peers import CounterTrack, Peer, SmallPicture, drop_packets, negotiate, publish
from tests.media.test_relay import eventually


async def test_late_viewer_decodes_a_picture_quickly(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    source = SmallPicture()
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], source)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        # Three seconds in: the publisher's first keyframe is long gone.
        await eventually(lambda: source.count >= 90)
        pc.addTransceiver("video", direction="recvonly")
        tracks: asyncio.Queue[object] = asyncio.Queue()
        pc.on("track", tracks.put_nowait)
        started = time.monotonic()
        await negotiate(live_server.http, f"/api/rooms/{room['room_id']}/whep", pc, None)
        track = await asyncio.wait_for(tracks.get(), 10)
        frame = await asyncio.wait_for(track.recv(), 10)  # type: ignore[attr-defined]
        assert (frame.width, frame.height) == (160, 120)
        assert time.monotonic() - started < 5.0  # about 0.3 s unloaded
    finally:
        await pc.close()
        await publisher.close()


async def test_packets_lost_to_a_viewer_are_retransmitted(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    track = CounterTrack(keyframe_every=0)
    publisher = await publish(live_server.http, room["room_id"], room["host_token"], track)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    viewer = Peer(pc)
    video = pc.addTransceiver("video", direction="recvonly")
    aiortc_private.tap_encoded_frames(
        video.receiver, "video", lambda f, ssrc: viewer.frames.append((time.monotonic(), f))
    )
    dropped = drop_packets(video.receiver, every=7)
    try:
        await negotiate(live_server.http, f"/api/rooms/{room['room_id']}/whep", pc, None)
        await viewer.wait_frames(60, within=30)
        assert len(dropped) >= 10
        counters = viewer.counters
        assert counters == list(range(counters[0], counters[0] + len(counters))), (
            counters,
            sorted(dropped),
        )
    finally:
        await pc.close()
        await publisher.close()
