"""Findings 5 and 6: moderation that sticks (by address, unban, staff protected) and
roles shown in chat (no viewer can pass as the host)."""

from __future__ import annotations

from typing import Any

import pytest

from live.settings import Settings
from tests.conftest import ADMIN_TOKEN, LiveServer, make_settings
from tests.realtime.client import ChannelClient, channel

ALICE_IP = {"X-Forwarded-For": "203.0.113.5"}
BOB_IP = {"X-Forwarded-For": "203.0.113.6"}


@pytest.fixture
async def settings() -> Settings:
    # Loopback is the proxy here, so each test client may say which address it has.
    return make_settings(LIVE_SERVER_TRUSTED_PROXIES="127.0.0.1/32")


async def _viewer(server: LiveServer, name: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = await server.http.post("/api/sessions", json={"name": name}, headers=headers)
    assert answer.status_code == 201, answer.text
    data: dict[str, Any] = answer.json()
    return data


async def _error(client: ChannelClient, code: str) -> dict[str, Any]:
    return await client.until(lambda e: e["type"] == "error" and e["code"] == code)


async def test_a_viewer_banned_by_address_cannot_chat_again_from_a_new_session(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    troll = await _viewer(live_server, "Troll", ALICE_IP)
    bob = await _viewer(live_server, "Bob", BOB_IP)
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, troll["token"], additional_headers=ALICE_IP) as t,
    ):
        await host.next()
        await t.next()
        await host.send({"type": "ban", "user_id": troll["user_id"], "scope": "ip"})
        assert await t.closed_code() == 4003
    again = await _viewer(live_server, "Troll2", ALICE_IP)
    async with channel(
        live_server.ws_url, room_id, again["token"], additional_headers=ALICE_IP
    ) as t2:
        assert await t2.closed_code() == 4003
    # Another address is not touched; unban lets the address back in.
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, bob["token"], additional_headers=BOB_IP) as b,
    ):
        await host.next()
        await b.next()
        await b.send({"type": "chat", "text": "hi"})
        assert (await b.of_type("chat"))["name"] == "Bob"
        await host.send({"type": "unban", "user_id": troll["user_id"]})
        await host.send({"type": "ping"})
        await host.of_type("pong")
    async with channel(
        live_server.ws_url, room_id, again["token"], additional_headers=ALICE_IP
    ) as t3:
        assert (await t3.next())["type"] == "snapshot"
        await t3.send({"type": "chat", "text": "sorry"})
        assert (await t3.of_type("chat"))["text"] == "sorry"


async def test_a_mute_by_address_silences_new_sessions_until_unmuted(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    troll = await _viewer(live_server, "Troll", ALICE_IP)
    fresh = await _viewer(live_server, "Fresh", ALICE_IP)
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, troll["token"], additional_headers=ALICE_IP) as t,
        channel(live_server.ws_url, room_id, fresh["token"], additional_headers=ALICE_IP) as f,
    ):
        for client in (host, t, f):
            await client.next()
        mute = {"type": "mute", "user_id": troll["user_id"], "seconds": 600, "scope": "ip"}
        await host.send(mute)
        await t.of_type("muted")
        await f.send({"type": "chat", "text": "new me"})
        await _error(f, "muted")
        await host.send({"type": "unmute", "user_id": troll["user_id"]})
        await t.of_type("unmuted")
        await f.send({"type": "chat", "text": "new me"})
        assert (await f.of_type("chat"))["text"] == "new me"


async def test_a_host_cannot_ban_the_admin_or_itself(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, ADMIN_TOKEN) as admin,
    ):
        await host.next()
        await admin.next()
        await admin.send({"type": "chat", "text": "admin here"})
        said = await host.until(lambda e: e["type"] == "chat" and e["text"] == "admin here")
        assert said["role"] == "admin"
        await host.send({"type": "ban", "user_id": said["user_id"]})
        await _error(host, "forbidden")
        await host.send({"type": "chat", "text": "me"})
        mine = await host.until(lambda e: e["type"] == "chat" and e["text"] == "me")
        assert mine["role"] == "host"
        await host.send({"type": "ban", "user_id": mine["user_id"]})
        await _error(host, "forbidden")
        await host.send({"type": "mute", "user_id": mine["user_id"], "seconds": 60})
        await _error(host, "forbidden")
        # Both are still connected and may chat.
        await admin.send({"type": "chat", "text": "still here"})
        await host.until(lambda e: e["type"] == "chat" and e["text"] == "still here")


async def test_chat_carries_roles_and_a_viewer_cannot_speak_as_the_host(
    live_server: LiveServer,
) -> None:
    room = await live_server.new_room()  # host "Lin"
    room_id = room["room_id"]
    fake = await live_server.new_viewer("ＬＩＮ")  # fullwidth: NFKC folds it to "LIN"
    mei = await live_server.new_viewer("Mei\u202e\u200b")
    assert mei["name"] == "Mei"
    async with (
        channel(live_server.ws_url, room_id, room["host_token"]) as host,
        channel(live_server.ws_url, room_id, fake["token"]) as f,
        channel(live_server.ws_url, room_id, mei["token"]) as m,
    ):
        for client in (host, f, m):
            await client.next()
        await f.send({"type": "chat", "text": "buy from my link"})
        await _error(f, "name_reserved")
        await m.send({"type": "chat", "text": "hi\u202e 你好 👨\u200d👩\u200d👧\u200b"})
        said = await host.of_type("chat")
        assert said["role"] == "viewer"
        assert said["text"] == "hi 你好 👨\u200d👩\u200d👧"
        await host.send({"type": "chat", "text": "welcome"})
        welcome = await m.until(lambda e: e["type"] == "chat" and e["text"] == "welcome")
        assert welcome["role"] == "host"
