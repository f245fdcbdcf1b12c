"""Finding 8 (host tokens): a new host link retires every earlier host token of the room."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.realtime.client import channel


async def test_a_new_host_token_retires_the_old_one(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id, old = room["room_id"], room["host_token"]
    stats = f"/api/rooms/{room_id}/stats"
    assert (await live_server.as_user(old, "GET", stats)).status_code == 200
    renewed = await live_server.as_user(old, "POST", f"/api/rooms/{room_id}/host-token")
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()["host_token"]
    assert renewed.json()["host_url"].endswith(f"/studio/{room_id}#token={new}")
    refused = await live_server.as_user(old, "GET", stats)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    async with channel(live_server.ws_url, room_id, old) as ws:
        assert await ws.closed_code() == 4001
    assert (await live_server.as_user(new, "GET", stats)).status_code == 200
    async with channel(live_server.ws_url, room_id, new) as ws:
        assert (await ws.next())["type"] == "snapshot"
    # The admin may renew it too; a viewer may not.
    viewer = await live_server.new_viewer()
    denied = await live_server.as_user(viewer["token"], "POST", f"/api/rooms/{room_id}/host-token")
    assert denied.status_code == 403
    again = await live_server.admin("POST", f"/api/rooms/{room_id}/host-token")
    assert again.status_code == 201
    assert (await live_server.as_user(new, "GET", stats)).status_code == 401
