"""A live show becomes a replay: real aiortc publishers (VP8 and H.264, encoded pictures
and Opus), the recording read back with ffprobe and PyAV, served with byte ranges."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import av

from live.media.bitstream import avcc_to_annex_b, h264_nal_units
from live.media.mediaclock import media_ms
from tests.conftest import LiveServer
from tests.discovery.test_thumbnails import picture_size
from tests.media.peers import Peer, watch
from tests.realtime.client import channel
from tests.replay.helpers import (
    download,
    ffprobe,
    forwarded_frames,
    needs_ffprobe,
    publish_real,
    ready_replay,
    stream,
)

pytestmark = needs_ffprobe
SHOW_FRAMES = 150  # 5 s at 30 fps


def clock_offset(viewer: Peer) -> int:
    assert viewer.answer is not None
    found = re.fullmatch(r"offset=(\d+); rate=90000", viewer.answer.headers["x-live-media-clock"])
    assert found, viewer.answer.headers
    return int(found.group(1))


def video_packets(path: Path) -> list[tuple[float, bytes]]:
    """(pts in ms, bytes) of every video packet, demuxed (nothing decoded)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        return [
            (float(p.pts * p.time_base * 1000), bytes(p))
            for p in container.demux(video)
            if p.pts is not None
        ]


def decoded(path: Path) -> dict[str, list[float]]:
    """Presentation times (s) of every decoded video and audio frame."""
    times: dict[str, list[float]] = {"video": [], "audio": []}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0, audio=0):
            if isinstance(frame, av.VideoFrame | av.AudioFrame) and frame.time_base:
                kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
                times[kind].append(float((frame.pts or 0) * frame.time_base))
    return times


async def show(
    server: LiveServer, codec: str, pin: bool = True
) -> tuple[dict[str, Any], Peer, dict[str, Any] | None, float, float]:
    """A room live for SHOW_FRAMES frames with a viewer watching from before the start and
    a product pinned midway; then ended. (room, viewer, pin event, media_ms of the viewer's
    last frame when the pin was sent, frames forwarded)."""
    room = await server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    product = await server.new_product(title="Linen shirt")
    added = await server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
    assert added.status_code == 201
    viewer = await watch(server.http, room_id, audio=True, codec=codec)
    offset = clock_offset(viewer)
    before = forwarded_frames()
    publisher = await publish_real(server.http, room_id, token, codec)
    event: dict[str, Any] | None = None
    seen_ms = 0.0
    try:
        async with channel(server.ws_url, room_id, token) as host:
            await host.of_type("snapshot")
            await viewer.wait_frames(SHOW_FRAMES // 2, within=30)
            if pin:
                seen_ms = media_ms(viewer.frames[-1][1].timestamp, offset)
                await host.send({"type": "pin", "sku": product["sku"]})
                event = await host.of_type("pin")
            await viewer.wait_frames(SHOW_FRAMES, within=30)
        ended = await server.as_user(token, "POST", f"/api/rooms/{room_id}/end")
        assert ended.status_code == 200
    finally:
        await publisher.close()
    forwarded = forwarded_frames() - before
    return room, viewer, event, seen_ms, forwarded


async def test_a_vp8_show_is_recorded_as_forwarded_on_the_media_clock(
    live_server: LiveServer, tmp_path: Path
) -> None:
    room, viewer, pin, seen_ms, forwarded = await show(live_server, "vp8")
    room_id = room["room_id"]
    try:
        replay = await ready_replay(live_server, room_id)
        assert replay["content_type"] == "video/webm"
        path = await download(live_server, replay["url"], tmp_path)
        probe = ffprobe(path)
        assert "webm" in probe["format"]["format_name"]
        video, audio = stream(probe, "video"), stream(probe, "audio")
        assert (video["codec_name"], audio["codec_name"]) == ("vp8", "opus")
        assert (video["width"], video["height"]) == (160, 120)
        # Every frame forwarded is in the file, once: nothing dropped, nothing added.
        assert int(video["nb_read_packets"]) == forwarded
        # As long as the show was live (the viewer saw its first to last frame).
        live_s = viewer.frames[-1][0] - viewer.frames[0][0]
        assert abs(float(probe["format"]["duration"]) - live_s) < 0.5
        assert abs(replay["duration_ms"] / 1000 - live_s) < 0.5

        # No re-encode: the viewer's frames, byte for byte, at the file's timestamps, and a
        # viewer's RTP timestamps map to the file's (X-Live-Media-Clock).
        offset = clock_offset(viewer)
        packets = video_packets(path)
        by_ms = {round(at): data for at, data in packets}
        for _, frame in viewer.frames:
            at = int(media_ms(frame.timestamp, offset))
            assert by_ms.get(at) == frame.data or by_ms.get(at + 1) == frame.data

        # The pin's chapter is where the picture was when it was pinned.
        assert pin is not None
        assert abs(pin["media_ms"] - seen_ms) < 100
        (chapter,) = [c for c in replay["chapters"] if c["type"] == "pin"]
        assert chapter["at_ms"] == round(pin["media_ms"])
        assert chapter["sku"] == pin["product"]["sku"] and chapter["title"] == "Linen shirt"

        # Decodes, with audio and video together from start to end.
        times = decoded(path)
        assert len(times["video"]) == forwarded
        assert abs(times["audio"][0] - times["video"][0]) < 0.2
        assert abs(times["audio"][-1] - times["video"][-1]) < 0.3
    finally:
        await viewer.close()


async def test_the_file_is_served_with_byte_ranges_and_a_validator(
    live_server: LiveServer, tmp_path: Path
) -> None:
    room, viewer, _, _, _ = await show(live_server, "vp8", pin=False)
    await viewer.close()
    replay = await ready_replay(live_server, room["room_id"])
    whole = (await download(live_server, replay["url"], tmp_path)).read_bytes()
    http = live_server.http
    part = await http.get(replay["url"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(whole)}"
    assert part.content == whole[100:1100]
    tail = await http.get(replay["url"], headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == whole[-500:]
    full = await http.get(replay["url"])
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/webm"
    again = await http.get(replay["url"], headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304
    beyond = await http.get(replay["url"], headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
    bad = await http.get(replay["url"], headers={"Range": "pages=1-2"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    other = replay["url"].rsplit("/", 1)[0] + "/..%2F..%2Fetc%2Fpasswd"
    assert (await http.get(other)).status_code == 404


async def test_an_obs_shaped_h264_offer_is_recorded_into_mp4_unchanged(
    live_server: LiveServer, tmp_path: Path
) -> None:
    # The default server prefers VP8; the room takes its publisher's H.264.
    assert live_server.parts.settings.media.codec == "vp8"
    room, viewer, _, _, forwarded = await show(live_server, "h264", pin=False)
    try:
        replay = await ready_replay(live_server, room["room_id"])
        assert replay["content_type"] == "video/mp4"
        path = await download(live_server, replay["url"], tmp_path)
        probe = ffprobe(path)
        assert "mp4" in probe["format"]["format_name"]
        video = stream(probe, "video")
        assert video["codec_name"] == "h264" and stream(probe, "audio")["codec_name"] == "opus"
        assert int(video["nb_read_packets"]) == forwarded
        live_s = viewer.frames[-1][0] - viewer.frames[0][0]
        assert abs(float(probe["format"]["duration"]) - live_s) < 0.5
        # MP4 stores NAL units length-prefixed: the same NAL units as forwarded.
        offset = clock_offset(viewer)
        stored = {round(at): avcc_to_annex_b(data) for at, data in video_packets(path)}
        for _, frame in viewer.frames:
            at = round(media_ms(frame.timestamp, offset))
            # (An MP4 edit list keeps where a track starts in whole milliseconds.)
            near = [stored[ms] for ms in (at - 1, at, at + 1) if ms in stored]
            assert h264_nal_units(frame.data) in [h264_nal_units(data) for data in near]
        times = decoded(path)
        assert len(times["video"]) == forwarded
        assert abs(times["audio"][0] - times["video"][0]) < 0.2
        # The ended room's picture: a keyframe of the MP4 (length-prefixed) decoded.
        still = await live_server.http.get(f"/api/rooms/{room['room_id']}/thumbnail.jpg")
        assert still.status_code == 200 and still.headers["content-type"] == "image/jpeg"
        replay_still = await live_server.parts.replays.still(room["room_id"])
        assert replay_still is not None and still.content == replay_still.jpeg
        assert picture_size(still.content) == (160, 120)
    finally:
        await viewer.close()
