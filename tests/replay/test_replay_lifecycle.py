"""A replay's life: one timeline across takeovers and pauses (also on another server
process), opting out, deletion by the host, outliving the room, selling its line-up, its
chapters found as moments by the search, and its own frame as the ended room's picture."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest

from live.discovery.moments import Chapter, moment_of
from live.settings import NodeSettings, Settings
from tests.conftest import LiveServer, make_settings, start_server
from tests.discovery.test_thumbnails import picture_size
from tests.media.peers import CounterTrack, Peer, publish, watch
from tests.realtime.client import channel
from tests.redis_server import TestRedis
from tests.replay.helpers import (
    download,
    ffprobe,
    forwarded_frames,
    needs_ffprobe,
    publish_real,
    ready_replay,
    recorded,
    replay_of,
    stream,
    until,
)
from tests.replay.test_recording import video_packets
from tests.shop.helpers import open_shop_room


@pytest.fixture
async def settings() -> Settings:
    # Ended rooms go quickly here: their replays must not.
    return make_settings(LIVE_ROOMS_ENDED_RETENTION_S="2")


@pytest.fixture
async def second_server(
    redis_server: TestRedis, live_server: LiveServer
) -> AsyncIterator[LiveServer]:
    """Another server process stand-in: same Redis, key prefix and recordings directory."""
    settings = live_server.parts.settings.replace(node=NodeSettings(id="second"))
    server, task, port, app = await start_server(settings, redis_server.url)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield LiveServer(base, f"ws://127.0.0.1:{port}", app.parts, http)
    server.should_exit = True
    await task


async def frames_flow(server: LiveServer, room_id: str, count: int) -> None:
    """Until the room's origin (this server) has forwarded `count` more video frames."""
    start = forwarded_frames()
    await until(lambda: forwarded_frames() - start >= count, within=30)


@needs_ffprobe
async def test_a_takeover_in_the_same_process_continues_the_part(
    live_server: LiveServer, tmp_path: Path
) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    before = forwarded_frames()
    first = await publish_real(live_server.http, room_id, token)
    await frames_flow(live_server, room_id, 45)
    second = await publish_real(live_server.http, room_id, token)  # a reloaded studio
    try:
        await until(lambda: first.pc.connectionState in ("closed", "failed"), within=40)
        await frames_flow(live_server, room_id, 45)
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await first.close()
        await second.close()
    replay = await ready_replay(live_server, room_id)
    assert replay["url"].endswith("/part-1.webm") and len(replay["parts"]) == 1
    path = await download(live_server, replay["url"], tmp_path)
    assert int(stream(ffprobe(path), "video")["nb_read_packets"]) == forwarded_frames() - before
    times = [at for at, _ in video_packets(path)]
    assert times == sorted(times)


@needs_ffprobe
async def test_a_pause_and_a_comeback_on_another_process_keep_one_timeline(
    live_server: LiveServer, second_server: LiveServer, tmp_path: Path
) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    before = forwarded_frames()
    first = await publish_real(live_server.http, room_id, token)
    try:
        await frames_flow(live_server, room_id, 45)
    finally:
        assert (await live_server.as_user(token, "DELETE", first.location)).status_code == 200
        await first.close()
    svc = live_server.parts
    # The first process gave the room up; the host comes back on the second.
    owner_key = svc.keys.room_media_owner(room_id)

    async def released() -> bool:
        return not await svc.redis.exists(owner_key)

    await until(released)
    await asyncio.sleep(1.0)  # the host is away for a second
    paused_from = forwarded_frames()
    second = await publish_real(second_server.http, room_id, token)
    try:
        await frames_flow(second_server, room_id, 45)
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await second.close()
    assert paused_from > before
    replay = await ready_replay(live_server, room_id)
    # Two parts of one codec, joined into one file a <video> can seek.
    assert replay["url"].endswith("/replay-1.webm") and len(replay["parts"]) == 1
    path = await download(live_server, replay["url"], tmp_path)
    times = [at for at, _ in video_packets(path)]
    assert len(times) == forwarded_frames() - before
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The pause is a gap on the one timeline (not squeezed out), and only one.
    assert max(gaps) > 1000 and sorted(gaps)[-2] < 200
    assert abs(replay["duration_ms"] - times[-1]) < 100


async def test_a_show_opted_out_is_not_recorded_but_keeps_its_clock(
    live_server: LiveServer,
) -> None:
    answer = await live_server.admin(
        "POST", "/api/rooms", json={"title": "Private", "host_name": "Lin", "record": False}
    )
    assert answer.status_code == 201 and answer.json()["record"] is False
    room = answer.json()
    room_id, token = room["room_id"], room["host_token"]
    bad = await live_server.admin(
        "POST", "/api/rooms", json={"title": "x", "host_name": "y", "record": "no"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "record"
    product = await live_server.new_product()
    await live_server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
    publisher = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    try:
        await viewer.wait_frames(40)
        async with channel(live_server.ws_url, room_id, token) as host:
            await host.of_type("snapshot")
            await host.send({"type": "pin", "sku": product["sku"]})
            pin = await host.of_type("pin")
        # Live viewers still get each event's position on the media clock.
        assert pin["media_ms"] > 0
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await viewer.close()
        await publisher.close()
    replay = await replay_of(live_server, room_id)
    assert replay["status"] == "none" and replay["chapters"] == [] and replay["url"] is None
    assert not recorded(room_id, "").exists()


@needs_ffprobe
async def test_the_host_deletes_a_replay(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    path = f"/api/rooms/{room_id}/replay"
    publisher = await publish_real(live_server.http, room_id, token)
    try:
        await frames_flow(live_server, room_id, 20)
        # Not while the show is being recorded.
        busy = await live_server.as_user(token, "DELETE", path)
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "recording"
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await publisher.close()
    replay = await ready_replay(live_server, room_id)
    assert recorded(room_id, "part-1.webm").is_file()
    viewer = await live_server.new_viewer()
    assert (await live_server.as_user(viewer["token"], "DELETE", path)).status_code == 403
    assert (await live_server.http.delete(path)).status_code == 401
    assert (await live_server.as_user(token, "DELETE", path)).status_code == 200
    assert (await replay_of(live_server, room_id))["status"] == "none"
    assert (await live_server.http.get(replay["url"])).status_code == 404
    assert not recorded(room_id, "").exists()
    assert (await live_server.admin("DELETE", path)).status_code == 404


@needs_ffprobe
async def test_a_replay_outlives_its_room_and_sells_its_lineup(live_server: LiveServer) -> None:
    shop = await open_shop_room(live_server)
    product = await shop.add(title="Ceramic mug", price_cents=8800)
    stocked = await live_server.admin(
        "PUT", f"/api/products/{product['sku']}/stock", json={"stock": 5}
    )
    assert stocked.status_code == 200
    room_id, token = shop.room_id, shop.host_token
    publisher = await publish_real(live_server.http, room_id, token)
    try:
        await frames_flow(live_server, room_id, 30)
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await publisher.close()
    replay = await ready_replay(live_server, room_id)
    assert [p["sku"] for p in replay["products"]] == [product["sku"]]
    assert replay["products"][0]["available"] == 5
    # The room's own keys lapse ([rooms] ended_retention_s = 2 here); the replay stays.

    async def room_gone() -> bool:
        return (await live_server.http.get(f"/api/rooms/{room_id}")).status_code == 404

    await until(room_gone, within=20)
    svc = live_server.parts
    retention = svc.settings.media.replay_retention_days * 86400
    for key in (
        svc.keys.room_replay(room_id),
        svc.keys.room_replay_lineup(room_id),
    ):
        assert retention - 60 < await svc.redis.ttl(key) <= retention
    later = await replay_of(live_server, room_id)
    assert later["status"] == "ready" and later["title"] == "Linen"
    assert (
        await live_server.http.get(later["url"], headers={"Range": "bytes=0-9"})
    ).status_code == 206
    # The line-up kept with the replay sells through the shop bag.
    buyer = shop.viewer()
    order = await shop.checkout(buyer, [{"sku": product["sku"], "qty": 2}])
    assert order.status_code == 201, order.text
    assert order.json()["status"] == "held" and order.json()["sale_id"] is None
    other = await live_server.new_product()
    refused = await shop.checkout(
        buyer, [{"sku": other["sku"], "qty": 1}], key=secrets.token_hex(8)
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_in_lineup"


async def test_sales_auctions_and_answers_become_chapters_at_their_media_ms(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    product = await live_server.new_product(title="Acrylic cabinet")
    await live_server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
    sku = product["sku"]
    publisher = await publish(live_server.http, room_id, token, CounterTrack())
    viewer = await watch(live_server.http, room_id)
    asker = await live_server.new_viewer("Dev")
    try:
        await viewer.wait_frames(20)
        async with (
            channel(live_server.ws_url, room_id, token) as host,
            channel(live_server.ws_url, room_id, asker["token"]) as dev,
        ):
            await host.of_type("snapshot")
            await dev.of_type("snapshot")
            sale = await live_server.as_user(
                token,
                "POST",
                f"/api/rooms/{room_id}/sales",
                json={
                    "sku": sku,
                    "stock": 3,
                    "price_cents": 900,
                    "per_buyer_limit": 1,
                    "hold_s": 60,
                    "duration_s": 60,
                },
            )
            assert sale.status_code == 201, sale.text
            opened = await host.of_type("sale_open")
            auction = await live_server.as_user(
                token,
                "POST",
                f"/api/rooms/{room_id}/auctions",
                json={"sku": sku, "start_cents": 1000, "duration_s": 60},
            )
            assert auction.status_code == 201, auction.text
            auctioned = await host.of_type("auction_open")
            await dev.send({"type": "question", "text": "Does it get hot?", "sku": sku})
            question = await host.of_type("question")
            await host.send(
                {"type": "answer", "question_id": question["question_id"], "text": "No."}
            )
            answered = await host.of_type("answer")
            chat = {"type": "chat", "text": "hello"}
            await host.send(chat)
            said = await host.of_type("chat")
    finally:
        await viewer.close()
        await publisher.close()
    chapters = (await replay_of(live_server, room_id))["chapters"]
    assert [(c["type"], c["at_ms"]) for c in chapters] == [
        ("sale", round(opened["media_ms"])),
        ("auction", round(auctioned["media_ms"])),
        ("answer", round(answered["media_ms"])),
    ]
    sale_chapter, auction_chapter, answer_chapter = chapters
    assert (sale_chapter["sale_id"], sale_chapter["title"]) == (
        sale.json()["sale_id"],
        "Acrylic cabinet",
    )
    assert auction_chapter["auction_id"] == auction.json()["auction_id"]
    assert (answer_chapter["question"], answer_chapter["answer"]) == ("Does it get hot?", "No.")
    assert answer_chapter["sku"] == sku and answer_chapter["title"] == "Does it get hot?"
    # Every durable event taken while live carries the clock, chat included; it grows.
    assert said["media_ms"] >= answered["media_ms"] >= auctioned["media_ms"] >= opened["media_ms"]
    # The search index reads them through the store (moments), with the host's chat line
    # (for the moment of the product on screen; not a chapter of the timeline).
    stored = await live_server.parts.replays.chapters(room_id)
    assert [c for c in stored if c["type"] != "said"] == chapters
    (line,) = [c for c in stored if c["type"] == "said"]
    assert (line["text"], line["at_ms"], line["seq"]) == (
        "hello",
        round(said["media_ms"]),
        said["seq"],
    )


@needs_ffprobe
async def test_a_takeover_in_another_codec_keeps_the_viewer_and_starts_a_run(
    live_server: LiveServer, tmp_path: Path
) -> None:
    room = await live_server.new_room()
    room_id, token = room["room_id"], room["host_token"]
    viewer = await watch(live_server.http, room_id)
    payload_types = rtp_payload_types(viewer)
    assert viewer.answer is not None
    answered = viewer.answer.text
    # One WHEP answer with both codecs a room may carry, each with its payload type.
    pts: dict[str, set[int]] = {"VP8": set(), "H264": set()}
    for line in answered.splitlines():
        for name in pts:
            if line.startswith("a=rtpmap:") and f" {name}/90000" in line:
                pts[name].add(int(line.split()[0].split(":")[1]))
    assert pts["VP8"] and pts["H264"]
    first = await publish_real(live_server.http, room_id, token, "vp8")
    second = None
    try:
        await until(lambda: sum(pt in pts["VP8"] for pt in payload_types) > 60, within=30)
        second = await publish_real(live_server.http, room_id, token, "h264")  # OBS takes over
        await until(lambda: sum(pt in pts["H264"] for pt in payload_types) > 60, within=30)
        assert viewer.pc.connectionState == "connected"
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await viewer.close()
        await first.close()
        if second is not None:
            await second.close()
    replay = await ready_replay(live_server, room_id)
    assert [(p["codec"], p["content_type"]) for p in replay["parts"]] == [
        ("vp8", "video/webm"),
        ("h264", "video/mp4"),
    ]
    assert replay["url"] == replay["parts"][0]["url"]
    later = replay["parts"][1]
    assert later["at_ms"] >= replay["parts"][0]["end_ms"]
    for part in replay["parts"]:
        path = await download(live_server, part["url"], tmp_path)
        assert stream(ffprobe(path), "video")["codec_name"] == part["codec"]


def rtp_payload_types(viewer: Peer) -> list[int]:
    """The payload type of every video RTP packet the viewer's receiver gets, as it comes
    (test-only: wraps aiortc's private packet handler on this one receiver)."""
    receiver = next(t.receiver for t in viewer.pc.getTransceivers() if t.kind == "video")
    seen: list[int] = []
    original = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        seen.append(packet.payload_type)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    return seen


async def test_the_index_of_ready_replays_forgets_lapsed_ones(live_server: LiveServer) -> None:
    svc = live_server.parts
    index = svc.keys.replays_index()
    await svc.redis.zadd(index, {"r_gone": 1, "r_kept": 2})
    await svc.redis.hset(svc.keys.room_replay("r_kept"), mapping={"status": "ready"})
    # A moment of each (their chapters lapse with the replay: the search still has them).
    word = "zv" + secrets.token_hex(3)
    for room_id in ("r_gone", "r_kept"):
        await svc.search.put(moment_of(room_id, "Show", 1, Chapter(7_000, "pin", f"Vase {word}")))

    async def shown() -> set[str]:
        answer = await live_server.http.get("/api/search", params={"q": word, "kind": "moment"})
        return {hit["room_id"] for hit in answer.json()["results"]}

    await until(lambda: _equal(shown(), {"r_gone", "r_kept"}), within=2)
    try:
        assert await svc.replay_finisher.prune_index(page=1) == 1
        assert await svc.replays.ready(10) == (["r_kept"], None)
        await until(lambda: _equal(shown(), {"r_kept"}), within=2)
    finally:
        await svc.redis.delete(index, svc.keys.room_replay("r_kept"))
        await svc.search.remove("moment", "r_kept:7000")


async def _moment_hits(server: LiveServer, q: str, room_id: str) -> list[dict[str, Any]]:
    answer = await server.http.get("/api/search", params={"q": q, "kind": "moment"})
    assert answer.status_code == 200, answer.text
    return [hit for hit in answer.json()["results"] if hit["room_id"] == room_id]


async def test_a_ready_replay_is_found_by_its_moments_and_pictured_by_its_own_frame(
    live_server: LiveServer,
) -> None:
    # Words found nowhere else: the product's, one only the host's answer says, one the
    # host says in chat and one a viewer says in chat (a viewer's chat is no moment's).
    word, answered_word = "zq" + secrets.token_hex(3), "zk" + secrets.token_hex(3)
    host_word, viewer_word = "zh" + secrets.token_hex(3), "zv" + secrets.token_hex(3)
    product = await live_server.new_product(title=f"Walnut grinder {word}")
    room = await live_server.new_room("Coffee corner")
    room_id, token = room["room_id"], room["host_token"]
    await live_server.admin("POST", f"/api/rooms/{room_id}/products", json=product)
    thumbnail = f"/api/rooms/{room_id}/thumbnail.jpg"
    publisher = await publish_real(live_server.http, room_id, token)
    asker = await live_server.new_viewer("Dev")
    try:
        await frames_flow(live_server, room_id, 30)
        async with (
            channel(live_server.ws_url, room_id, token) as host,
            channel(live_server.ws_url, room_id, asker["token"]) as dev,
        ):
            await host.of_type("snapshot")
            await dev.of_type("snapshot")
            await host.send({"type": "pin", "sku": product["sku"]})
            pinned = await host.of_type("pin")
            await dev.send({"type": "question", "text": "Is it loud?", "sku": product["sku"]})
            question = await host.of_type("question")
            reply = f"Quiet, the {answered_word} burrs are ceramic"
            await host.send(
                {"type": "answer", "question_id": question["question_id"], "text": reply}
            )
            answer = await host.of_type("answer")
            await host.send({"type": "chat", "text": f"It grinds {host_word} fine"})
            await dev.send({"type": "chat", "text": f"I want one {viewer_word}"})
            await host.until(lambda e: e["type"] == "chat" and viewer_word in e["text"])
        await frames_flow(live_server, room_id, 30)
        assert (await live_server.as_user(token, "POST", f"/api/rooms/{room_id}/end")).is_success
    finally:
        await publisher.close()
    replay = await ready_replay(live_server, room_id)
    at_ms = round(pinned["media_ms"])
    assert [(c["type"], c["at_ms"]) for c in replay["chapters"]] == [
        ("pin", at_ms),
        ("answer", round(answer["media_ms"])),
    ]
    # The pinned product's moment is found by its words, within the freshness promise.
    hits = await until(lambda: _moment_hits(live_server, word, room_id), within=2)
    assert len(hits) == 1
    moment = hits[0]
    assert (moment["at_ms"], moment["chapter"], moment["sku"]) == (at_ms, "pin", product["sku"])
    assert moment["room_title"] == "Coffee corner"
    # It opens the replay at the moment (whole seconds, as the viewer page reads `t`).
    assert moment["url"] == f"/r/{room_id}?t={at_ms // 1000}"
    assert (await live_server.http.get(moment["url"])).status_code == 200
    # What the host answered while the product was on screen finds it too (and the answer).
    said = await _moment_hits(live_server, answered_word, room_id)
    assert {(h["chapter"], h["at_ms"]) for h in said} == {
        ("pin", at_ms),
        ("answer", round(answer["media_ms"])),
    }
    # So does what the host said in chat meanwhile (the pin's moment alone: the replay's
    # chapters above are not the host's chat lines); a viewer's chat finds nothing.
    host_said = await _moment_hits(live_server, host_word, room_id)
    assert [(h["chapter"], h["at_ms"]) for h in host_said] == [("pin", at_ms)]
    assert await _moment_hits(live_server, viewer_word, room_id) == []
    # The ended room's picture is a frame of its replay, decoded from the recording (it
    # may be the keyframe the last live picture was made of; once the room's record has
    # lapsed, below, only the replay's can answer).
    still = await live_server.parts.replays.still(room_id)
    assert still is not None
    shown = await live_server.http.get(thumbnail)
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["etag"] == f'"{still.etag}"' and shown.content == still.jpeg
    assert picture_size(shown.content) == (160, 120)  # the show's size (under 320 wide)
    assert shown.headers["cache-control"] == "public, max-age=3600"

    # The room's own record lapses ([rooms] ended_retention_s = 2 here): the replay's
    # picture stays, as the replay does.
    async def room_gone() -> bool:
        return (await live_server.http.get(f"/api/rooms/{room_id}")).status_code == 404

    await until(room_gone, within=20)
    later = await live_server.http.get(thumbnail)
    assert later.status_code == 200 and later.headers["etag"] == shown.headers["etag"]
    # Deleted, the replay leaves the search (every word of it) and takes its picture.
    assert (await live_server.admin("DELETE", f"/api/rooms/{room_id}/replay")).status_code == 200

    async def forgotten() -> bool:
        return not await _moment_hits(live_server, word, room_id) and not (
            await _moment_hits(live_server, answered_word, room_id)
        )

    await until(forgotten, within=2)
    assert (await live_server.http.get(thumbnail)).status_code == 404


async def _equal(found: Awaitable[set[str]], expected: set[str]) -> bool:
    return await found == expected
