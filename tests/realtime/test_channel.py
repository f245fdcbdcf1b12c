"""The room channel end to end: real server, real Redis, real websocket clients; every
test runs over both send paths (tests/realtime/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from live.settings import Settings
from tests.conftest import LiveServer, make_settings
from tests.realtime.client import ChannelClient, channel
from tests.realtime.conftest import send_path_env


@pytest.fixture
async def settings(send_path: str) -> Settings:
    return make_settings(**send_path_env(send_path))


async def _room_with_host(server: LiveServer) -> tuple[str, str]:
    room = await server.new_room()
    return room["room_id"], room["host_token"]


async def test_snapshot_comes_first_and_chat_has_consecutive_seq(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    viewer = await live_server.new_viewer("Mei")
    async with (
        channel(live_server.ws_url, room_id, viewer["token"]) as mei,
        channel(live_server.ws_url, room_id, host_token) as host,
    ):
        snapshot = await mei.next()
        assert snapshot["type"] == "snapshot"
        for key in ("seq", "epoch", "room", "pinned", "sales", "viewers", "likes", "chat"):
            assert key in snapshot
        assert snapshot["recovered"] is False
        assert snapshot["room"]["room_id"] == room_id
        await host.of_type("snapshot")
        for text in ("hello", "is the shirt linen?", "love it"):
            await mei.send({"type": "chat", "text": text})
        chats = [await mei.of_type("chat") for _ in range(3)]
        assert [c["text"] for c in chats] == ["hello", "is the shirt linen?", "love it"]
        seqs = [c["seq"] for c in chats]
        assert seqs == list(range(snapshot["seq"] + 1, snapshot["seq"] + 4))
        assert all(c["user_id"] == viewer["user_id"] and c["name"] == "Mei" for c in chats)
        host_chats = [await host.of_type("chat") for _ in range(3)]
        assert [c["seq"] for c in host_chats] == seqs
    async with channel(live_server.ws_url, room_id) as late:
        snapshot = await late.next()
        assert [c["text"] for c in snapshot["chat"]] == ["hello", "is the shirt linen?", "love it"]


async def test_resume_returns_exactly_the_missed_events(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id) as viewer:
        first = await viewer.next()
    async with channel(live_server.ws_url, room_id, host_token) as host:
        await host.next()
        for n in range(4):
            await host.send({"type": "chat", "text": f"missed {n}"})
        for _ in range(4):
            await host.of_type("chat")
    url_args: dict[str, Any] = {"since": first["seq"], "epoch": first["epoch"]}
    async with channel(live_server.ws_url, room_id, **url_args) as back:
        snapshot = await back.next()
        assert snapshot["recovered"] is True and snapshot["chat"] == []
        assert snapshot["epoch"] == first["epoch"]
        missed = [await back.next() for _ in range(4)]
        assert [e["text"] for e in missed] == [f"missed {n}" for n in range(4)]
        assert [e["seq"] for e in missed] == list(range(first["seq"] + 1, first["seq"] + 5))
        assert snapshot["seq"] == missed[-1]["seq"]
        # Nothing else was missed: the next event is a new one.
        await back.send({"type": "ping"})
        assert (await back.next())["type"] == "pong"


async def test_resume_is_refused_when_history_or_epoch_do_not_match(
    live_server: LiveServer,
) -> None:
    svc = live_server.parts
    room_id, host_token = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id, host_token) as host:
        first = await host.next()
        await host.send({"type": "chat", "text": "one"})
        await host.of_type("chat")
    # The history no longer holds the missed event (trimmed or lost).
    await svc.redis.delete(svc.keys.room_history(room_id))
    async with channel(
        live_server.ws_url, room_id, since=first["seq"], epoch=first["epoch"]
    ) as back:
        snapshot = await back.next()
        assert snapshot["recovered"] is False
        assert [c["text"] for c in snapshot["chat"]] == ["one"]
    async with channel(live_server.ws_url, room_id, since=first["seq"], epoch="other") as back:
        assert (await back.next())["recovered"] is False


async def test_epoch_changes_when_redis_lost_the_room_history(live_server: LiveServer) -> None:
    svc = live_server.parts
    room_id, _ = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id) as viewer:
        first = await viewer.next()
    # What a Redis restart looks like to the room: a new run id than the one recorded.
    await svc.redis.hset(svc.keys.room_epoch(room_id), "run", "0" * 40)
    async with channel(live_server.ws_url, room_id, since=first["seq"], epoch=first["epoch"]) as v:
        snapshot = await v.next()
        assert snapshot["epoch"] != first["epoch"]
        assert snapshot["recovered"] is False


async def _expect_error(client: ChannelClient, code: str) -> dict[str, Any]:
    event = await client.of_type("error")
    assert event["code"] == code, event
    return event


async def test_viewers_cannot_moderate(live_server: LiveServer) -> None:
    room_id, _ = await _room_with_host(live_server)
    viewer = await live_server.new_viewer()
    async with channel(live_server.ws_url, room_id, viewer["token"]) as mei:
        await mei.next()
        for message in (
            {"type": "pin", "sku": "anything"},
            {"type": "unpin"},
            {"type": "mute", "user_id": "u_x", "seconds": 60},
            {"type": "ban", "user_id": "u_x"},
            {"type": "delete_chat", "msg_id": "m_x"},
            {"type": "slow_mode", "seconds": 10},
        ):
            await mei.send(message)
            await _expect_error(mei, "forbidden")
    async with channel(live_server.ws_url, room_id) as anonymous:
        await anonymous.next()
        await anonymous.send({"type": "chat", "text": "hi"})
        await _expect_error(anonymous, "forbidden")


async def test_host_pins_a_lineup_product_with_its_card(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    product = await live_server.new_product(title="Washed linen shirt", image_url="/img/a.svg")
    stranger = await live_server.new_product()
    answer = await live_server.as_user(
        host_token, "POST", f"/api/rooms/{room_id}/products", json={"sku": product["sku"]}
    )
    assert answer.status_code == 201
    async with channel(live_server.ws_url, room_id, host_token) as host:
        await host.next()
        await host.send({"type": "pin", "sku": stranger["sku"]})
        await _expect_error(host, "bad_message")
        await host.send({"type": "pin", "sku": product["sku"]})
        pin = await host.of_type("pin")
        assert pin["product"]["title"] == "Washed linen shirt"
        assert pin["product"]["price_cents"] == product["price_cents"]
        assert pin["product"]["image_url"] == "/img/a.svg"
    async with channel(live_server.ws_url, room_id, host_token) as host:
        snapshot = await host.next()
        assert snapshot["pinned"]["sku"] == product["sku"]
        await host.send({"type": "unpin"})
        unpin = await host.of_type("unpin")
        assert unpin["seq"] == snapshot["seq"] + 1


async def test_slow_mode_and_mute_are_enforced_and_hosts_are_exempt(
    live_server: LiveServer,
) -> None:
    room_id, host_token = await _room_with_host(live_server)
    mei = await live_server.new_viewer("Mei")
    bo = await live_server.new_viewer("Bo")
    async with (
        channel(live_server.ws_url, room_id, host_token) as host,
        channel(live_server.ws_url, room_id, mei["token"]) as mei_ws,
        channel(live_server.ws_url, room_id, bo["token"]) as bo_ws,
    ):
        for client in (host, mei_ws, bo_ws):
            await client.next()
        await host.send({"type": "slow_mode", "seconds": 60})
        assert (await mei_ws.of_type("slow_mode"))["seconds"] == 60
        await mei_ws.send({"type": "chat", "text": "first"})
        await mei_ws.of_type("chat")
        await mei_ws.send({"type": "chat", "text": "second"})
        error = await _expect_error(mei_ws, "rate_limited")
        assert error["retry_after_ms"] > 0
        for n in range(8):  # above the per-user rate limit too
            await host.send({"type": "chat", "text": f"host {n}"})
        for n in range(8):
            chat = await host.until(lambda e: e["type"] == "chat" and e["name"] == "Lin")
            assert chat["text"] == f"host {n}"
        await host.send({"type": "mute", "user_id": bo["user_id"], "seconds": 60})
        await bo_ws.of_type("muted")
        await bo_ws.send({"type": "chat", "text": "can you hear me"})
        await _expect_error(bo_ws, "muted")


async def test_ban_closes_the_users_connection_and_keeps_them_out(
    live_server: LiveServer,
) -> None:
    room_id, host_token = await _room_with_host(live_server)
    troll = await live_server.new_viewer("Troll")
    async with (
        channel(live_server.ws_url, room_id, host_token) as host,
        channel(live_server.ws_url, room_id, troll["token"]) as troll_ws,
    ):
        await host.next()
        await troll_ws.next()
        await host.send({"type": "ban", "user_id": troll["user_id"]})
        assert await troll_ws.closed_code() == 4003
    async with channel(live_server.ws_url, room_id, troll["token"]) as again:
        assert await again.closed_code() == 4003


async def test_deleted_chat_is_announced_and_leaves_the_snapshot(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    viewer = await live_server.new_viewer()
    async with (
        channel(live_server.ws_url, room_id, host_token) as host,
        channel(live_server.ws_url, room_id, viewer["token"]) as mei,
    ):
        await host.next()
        await mei.next()
        await mei.send({"type": "chat", "text": "spam spam"})
        chat = await host.of_type("chat")
        await host.send({"type": "delete_chat", "msg_id": chat["msg_id"]})
        deleted = await mei.of_type("chat_deleted")
        assert deleted["msg_id"] == chat["msg_id"] and deleted["seq"] == chat["seq"] + 1
    async with channel(live_server.ws_url, room_id) as late:
        assert (await late.next())["chat"] == []


async def test_bad_frames_get_errors_and_the_connection_lives_on(live_server: LiveServer) -> None:
    room_id, _ = await _room_with_host(live_server)
    viewer = await live_server.new_viewer()
    async with channel(live_server.ws_url, room_id, viewer["token"]) as mei:
        await mei.next()
        await mei.ws.send("this is not json")
        await _expect_error(mei, "bad_message")
        await mei.ws.send(b"\x00\x01")
        await _expect_error(mei, "bad_message")
        await mei.send({"type": "teleport"})
        await _expect_error(mei, "bad_message")
        await mei.send({"type": "chat", "text": 42})
        await _expect_error(mei, "bad_message")
        await mei.send({"type": "chat", "text": "x" * 301})
        await _expect_error(mei, "too_large")
        await mei.send({"type": "ping"})
        assert (await mei.next())["type"] == "pong"
        await mei.send({"type": "chat", "text": "still here"})
        assert (await mei.of_type("chat"))["text"] == "still here"
        # Past the frame limit the server closes with 1009.
        await mei.ws.send("x" * 10000)
        assert await mei.closed_code() == 1009


async def test_inbound_flood_is_rate_limited(live_server: LiveServer) -> None:
    room_id, _ = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id) as flood:
        await flood.next()
        for _ in range(100):
            await flood.send({"type": "ping"})
        await _expect_error(flood, "rate_limited")


async def test_refusals_use_the_contract_close_codes(live_server: LiveServer) -> None:
    room_id, _ = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id, "forged.token") as forged:
        assert await forged.closed_code() == 4001
    async with channel(live_server.ws_url, "r_nosuchroom") as unknown:
        assert await unknown.closed_code() == 4004
    origin: Any = "https://evil.example"
    async with channel(live_server.ws_url, room_id, origin=origin) as cross:
        assert await cross.closed_code() == 4003
    same = f"http://{live_server.base_url.split('//')[1]}"
    async with channel(live_server.ws_url, room_id, origin=same) as page:
        assert (await page.next())["type"] == "snapshot"


async def test_room_end_is_announced_and_closes_with_4009(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    async with channel(live_server.ws_url, room_id) as viewer:
        snapshot = await viewer.next()
        answer = await live_server.as_user(host_token, "POST", f"/api/rooms/{room_id}/end")
        assert answer.status_code == 200
        ended = await viewer.of_type("room_ended")
        assert ended["seq"] == snapshot["seq"] + 1
        assert await viewer.closed_code() == 4009
    async with channel(live_server.ws_url, room_id, host_token) as host:
        assert (await host.next())["room"]["status"] == "ended"
        assert await host.closed_code() == 4009


async def test_likes_are_counted_and_viewers_are_present(live_server: LiveServer) -> None:
    room_id, host_token = await _room_with_host(live_server)
    async with (
        channel(live_server.ws_url, room_id, host_token) as host,
        channel(live_server.ws_url, room_id) as one,
        channel(live_server.ws_url, room_id) as two,
    ):
        for client in (host, one, two):
            await client.next()
        for _ in range(7):
            await one.send({"type": "like"})
        # Latest values: the host is not counted as a viewer.
        latest: dict[str, int] = {}
        while latest != {"likes": 7, "viewers": 2}:
            event = await host.next()
            if event["type"] in ("likes", "viewers"):
                latest[event["type"]] = event["count"]
        answer = await live_server.http.get(f"/api/rooms/{room_id}")
        assert answer.json()["viewers"] == 2
        listed = (await live_server.http.get("/api/rooms", params={"limit": 100})).json()
        assert {r["room_id"]: r["viewers"] for r in listed["rooms"]}[room_id] == 2
    async with channel(live_server.ws_url, room_id, host_token) as host:
        await host.until(lambda e: e["type"] == "viewers" and e["count"] == 0)


async def test_frames_reach_clients_with_and_without_compression_alike(
    live_server: LiveServer, send_path: str
) -> None:
    # On the direct path, broadcast frames are written ready-made, uncompressed, to every
    # connection: a client that negotiated permessage-deflate must read them as well.
    room_id, host_token = await _room_with_host(live_server)
    async with (
        channel(live_server.ws_url, room_id) as deflating,
        channel(live_server.ws_url, room_id, compression=None) as plain,
        channel(live_server.ws_url, room_id, host_token) as host,
    ):
        for client in (deflating, plain, host):
            await client.of_type("snapshot")
        hub = live_server.parts.room_hub
        conns = hub.local_connections(room_id)
        # Each connection writes the way the settings chose.
        assert len(conns) == 3
        assert all(c.outbox.writes_direct is (send_path == "direct") for c in conns)
        texts = [f"linen {n} " + "x" * (40 * n) for n in range(1, 6)]
        for text in texts:
            await host.send({"type": "chat", "text": text})
        for client in (deflating, plain):
            chats = [await client.of_type("chat") for _ in texts]
            assert [c["text"] for c in chats] == texts
            seqs = [c["seq"] for c in chats]
            assert seqs == list(range(seqs[0], seqs[0] + len(texts)))
