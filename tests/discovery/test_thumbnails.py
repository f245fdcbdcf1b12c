"""A live room's picture: a real VP8 publisher (aiortc encoding with libvpx), its keyframes
decoded at the origin now and then, served as a JPEG with caching headers."""

from __future__ import annotations

import asyncio
import time

import av
import httpx
import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.media.peers import Peer, SmallPicture, publish, watch

THUMBNAIL_S = 0.5


@pytest.fixture
async def settings() -> Settings:
    return make_settings(LIVE_MEDIA_THUMBNAIL_S=str(THUMBNAIL_S), LIVE_MEDIA_THUMBNAIL_WIDTH="80")


def picture_size(jpeg: bytes) -> tuple[int, int]:
    """Width and height of the JPEG as FFmpeg's decoder reads it."""
    assert jpeg[:2] == b"\xff\xd8"
    frames = av.CodecContext.create("mjpeg", "r").decode(av.Packet(jpeg))
    return frames[0].width, frames[0].height


async def next_picture(
    http: httpx.AsyncClient, room_id: str, other_than: str | None, within_s: float = 20
) -> httpx.Response:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        answer = await http.get(f"/api/rooms/{room_id}/thumbnail.jpg")
        if answer.status_code == 200 and answer.headers["etag"] != other_than:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"no new picture of {room_id} within {within_s}s")


async def shown_live(http: httpx.AsyncClient, q: str, room_id: str, within_s: float = 5) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = (await http.get("/api/search", params={"q": q, "kind": "room"})).json()
        if any(r["room_id"] == room_id and r["live"] for r in found["results"]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{room_id} not searchable as live within {within_s}s")


async def test_live_room_picture_is_a_scaled_jpeg_that_changes_and_caches(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    path = f"/api/rooms/{room_id}/thumbnail.jpg"
    assert (await live_server.http.get(path)).status_code == 404  # nothing shown yet
    assert (await live_server.http.get("/api/rooms/r_nope/thumbnail.jpg")).status_code == 404
    peers: list[Peer] = []
    started = time.monotonic()
    peers.append(await publish(live_server.http, room_id, room["host_token"], SmallPicture()))
    try:
        for _ in range(3):  # viewers do not make pictures: the room does
            peers.append(await watch(live_server.http, room_id))
        first = await next_picture(live_server.http, room_id, None)
        # The room went live: its search document says so (the live boost applies).
        await shown_live(live_server.http, room["title"], room_id)
        assert first.headers["content-type"] == "image/jpeg"
        assert picture_size(first.content) == (80, 60)  # 160x120 scaled to 80 wide
        assert first.headers["cache-control"] == "public, max-age=1"  # live: thumbnail_s
        etag = first.headers["etag"]
        unchanged = await live_server.http.get(path, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        # The picture moves with the show (SmallPicture's colour changes every frame).
        second = await next_picture(live_server.http, room_id, etag)
        assert second.content != first.content and picture_size(second.content) == (80, 60)
        thumbnailer = live_server.parts.thumbnailer
        assert thumbnailer is not None
        # At most one decode per thumbnail_s for the room, whatever the viewers.
        elapsed = time.monotonic() - started
        assert 2 <= thumbnailer.made <= elapsed / THUMBNAIL_S + 1
    finally:
        for peer in peers:
            await peer.close()
    ended = await live_server.as_user(room["host_token"], "POST", f"/api/rooms/{room_id}/end")
    assert ended.status_code == 200
    last = await live_server.http.get(path)
    assert last.status_code == 200 and last.headers["cache-control"] == "public, max-age=3600"
