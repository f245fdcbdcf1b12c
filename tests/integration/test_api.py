"""The HTTP API over a real server and a real Redis: each endpoint, role and error."""

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import LiveServer, make_settings, start_server
from tests.realtime.client import channel
from tests.redis_server import TestRedis


def error_code(answer: Any) -> str:
    code: str = answer.json()["error"]["code"]
    return code


async def test_session_creates_a_viewer_identity(live_server: LiveServer) -> None:
    session = await live_server.new_viewer("  Mei  ")
    assert session["name"] == "Mei"
    assert session["user_id"].startswith("u_")
    # The token alone carries who it is: the room channel knows the viewer by it.
    room = await live_server.new_room()
    async with channel(live_server.ws_url, room["room_id"], session["token"]) as mei:
        snapshot = await mei.next()
    you = {"user_id": session["user_id"], "name": "Mei", "staff": False}
    assert snapshot["you"] == you


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 5}, {"name": "x" * 41}, [1]])
async def test_session_validation(live_server: LiveServer, body: Any) -> None:
    answer = await live_server.http.post("/api/sessions", json=body)
    assert answer.status_code == 400
    assert error_code(answer) == "bad_request"


async def test_malformed_json_is_a_clear_400(live_server: LiveServer) -> None:
    for raw in (b"{", b"", b"\xff\xfe", b"[" * 5000):
        answer = await live_server.http.post(
            "/api/sessions", content=raw, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, raw
        assert error_code(answer) == "bad_request"
        assert answer.json()["error"]["message"]


async def test_oversized_body_is_413(live_server: LiveServer) -> None:
    answer = await live_server.http.post("/api/sessions", content=b"{" + b" " * 70000 + b"}")
    assert answer.status_code == 413
    assert error_code(answer) == "too_large"


async def test_unknown_path_and_method_use_the_error_format(live_server: LiveServer) -> None:
    answer = await live_server.http.get("/api/nothing-here")
    assert answer.status_code == 404 and error_code(answer) == "not_found"
    answer = await live_server.http.delete("/api/sessions")
    assert answer.status_code == 405 and error_code(answer) == "method_not_allowed"
    assert "POST" in answer.headers["allow"]


async def test_room_lifecycle(live_server: LiveServer) -> None:
    room = await live_server.new_room("Linen for autumn")
    assert room["host_url"].endswith(f"/studio/{room['room_id']}#token={room['host_token']}")
    assert room["viewer_url"].endswith(f"/r/{room['room_id']}")
    answer = await live_server.http.get(f"/api/rooms/{room['room_id']}")
    assert answer.status_code == 200
    public = answer.json()
    assert public["status"] == "open" and public["live"] is False
    assert "host_token" not in public

    answer = await live_server.as_user(
        room["host_token"], "POST", f"/api/rooms/{room['room_id']}/end"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "ended"
    answer = await live_server.http.get(f"/api/rooms/{room['room_id']}")
    assert answer.json()["status"] == "ended"
    assert (await live_server.http.get("/api/rooms/r_missing")).status_code == 404


async def test_room_roles(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    other = await live_server.new_room()
    viewer = await live_server.new_viewer()
    body = {"title": "t", "host_name": "h"}
    assert (await live_server.http.post("/api/rooms", json=body)).status_code == 401
    answer = await live_server.as_user(viewer["token"], "POST", "/api/rooms", json=body)
    assert answer.status_code == 403 and error_code(answer) == "forbidden"
    answer = await live_server.as_user("forged.token", "POST", "/api/rooms", json=body)
    assert answer.status_code == 401 and error_code(answer) == "unauthorized"
    # A host has no rights in another room.
    answer = await live_server.as_user(
        room["host_token"], "POST", f"/api/rooms/{other['room_id']}/end"
    )
    assert answer.status_code == 403
    answer = await live_server.as_user(viewer["token"], "POST", f"/api/rooms/{room['room_id']}/end")
    assert answer.status_code == 403
    answer = await live_server.http.post(
        f"/api/rooms/{room['room_id']}/end", headers={"authorization": "Basic abc"}
    )
    assert answer.status_code == 401


async def test_rooms_list_is_paginated_live_first(live_server: LiveServer) -> None:
    created = [await live_server.new_room(f"room {i}") for i in range(5)]
    svc = live_server.parts
    await svc.rooms.set_live(created[0]["room_id"], True, svc.clock.now_ms())
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await live_server.http.get("/api/rooms", params=params)).json()
        assert len(page["rooms"]) <= 2
        seen += page["rooms"]
        cursor = page["next"]
        if cursor is None:
            break
    ids = [r["room_id"] for r in seen]
    assert ids[0] == created[0]["room_id"] and seen[0]["live"] is True
    assert ids[1:] == [r["room_id"] for r in reversed(created[1:])]
    assert set(seen[0]) >= {"room_id", "title", "status", "live", "viewers"}
    bad = await live_server.http.get("/api/rooms", params={"limit": "1000"})
    assert bad.status_code == 400


async def test_ended_rooms_leave_the_list(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    await live_server.admin("POST", f"/api/rooms/{room['room_id']}/end")
    page = (await live_server.http.get("/api/rooms", params={"limit": "100"})).json()
    assert room["room_id"] not in [r["room_id"] for r in page["rooms"]]
    ttl = await live_server.parts.redis.ttl(live_server.parts.keys.room(room["room_id"]))
    assert 0 < ttl <= live_server.parts.settings.rooms.ended_retention_s


async def test_concurrent_ends_announce_the_end_once(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    path = f"/api/rooms/{room['room_id']}/end"
    # Open the connections first, so the ends reach the server together.
    await asyncio.gather(*(live_server.http.get("/healthz") for _ in range(40)))
    answers = await asyncio.gather(*(live_server.admin("POST", path) for _ in range(40)))
    assert [a.status_code for a in answers] == [200] * 40
    assert {a.json()["status"] for a in answers} == {"ended"}
    svc = live_server.parts
    history = await svc.redis.xrange(svc.keys.room_history(room["room_id"]))
    types = [orjson.loads(fields[b"e"])["type"] for _, fields in history]
    assert types.count("room_ended") == 1


async def test_only_one_of_concurrent_ends_ends_the_room(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    svc = live_server.parts
    results = await asyncio.gather(
        *(svc.rooms.end(room["room_id"], svc.clock.now_ms()) for _ in range(20))
    )
    assert [ended_now for _, ended_now in results].count(True) == 1
    assert {r.status for r, _ in results} == {"ended"}


async def test_catalog(live_server: LiveServer) -> None:
    product = await live_server.new_product(
        "linen-01", description="Washed linen", image_url="https://img.example/1.jpg"
    )
    assert product["sku"] == "linen-01"
    answer = await live_server.http.get("/api/products/linen-01")
    assert answer.status_code == 200 and answer.json()["description"] == "Washed linen"
    again = await live_server.admin("POST", "/api/products", json={**product})
    assert again.status_code == 409 and error_code(again) == "sku_exists"
    assert (await live_server.http.get("/api/products/nope")).status_code == 404
    viewer = await live_server.new_viewer()
    answer = await live_server.as_user(viewer["token"], "POST", "/api/products", json=product)
    assert answer.status_code == 403
    answer = await live_server.admin(
        "POST", "/api/products", json={"sku": "x", "currency": "CNY", "price_cents": 1}
    )
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "title"
    listing = (await live_server.http.get("/api/products")).json()
    assert "linen-01" in [p["sku"] for p in listing["products"]]


async def test_lineup(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    room_id = room["room_id"]
    first = await live_server.new_product()
    second = await live_server.new_product()
    for product in (first, second, first):
        answer = await live_server.as_user(
            room["host_token"],
            "POST",
            f"/api/rooms/{room_id}/products",
            json={"sku": product["sku"]},
        )
        assert answer.status_code == 201
    lineup = (await live_server.http.get(f"/api/rooms/{room_id}/products")).json()
    assert [p["sku"] for p in lineup["products"]] == [first["sku"], second["sku"]]
    answer = await live_server.as_user(
        room["host_token"], "POST", f"/api/rooms/{room_id}/products", json={"sku": "missing"}
    )
    assert answer.status_code == 404
    viewer = await live_server.new_viewer()
    answer = await live_server.as_user(
        viewer["token"], "POST", f"/api/rooms/{room_id}/products", json={"sku": first["sku"]}
    )
    assert answer.status_code == 403
    await live_server.admin("POST", f"/api/rooms/{room_id}/end")
    answer = await live_server.admin(
        "POST", f"/api/rooms/{room_id}/products", json={"sku": second["sku"]}
    )
    assert answer.status_code == 409 and error_code(answer) == "room_ended"


async def test_session_creation_is_rate_limited_per_ip(live_server: LiveServer) -> None:
    limit = live_server.parts.settings.limits.sessions_per_ip_per_min
    codes = [
        (await live_server.http.post("/api/sessions", json={"name": "bot"})).status_code
        for _ in range(limit + 2)
    ]
    assert codes.count(429) >= 1
    answer = await live_server.http.post("/api/sessions", json={"name": "bot"})
    assert error_code(answer) == "rate_limited"


async def test_openapi_describes_every_endpoint(live_server: LiveServer) -> None:
    document = (await live_server.http.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/sessions", "/api/rooms", "/api/rooms/{room_id}", "/api/products/{sku}"):
        assert path in document["paths"]
    routes = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert ("POST", "/api/rooms/{room_id}/end") in routes


async def test_healthz_and_metrics(live_server: LiveServer) -> None:
    assert (await live_server.http.get("/healthz")).json()["status"] == "ok"
    await live_server.http.get("/api/rooms")
    text = (await live_server.http.get("/metrics")).text
    assert "live_http_requests_total" in text
    assert 'route="list_rooms"' in text


async def test_rooms_that_expired_leave_the_index(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    await live_server.parts.redis.delete(live_server.parts.keys.room(room["room_id"]))
    page = (await live_server.http.get("/api/rooms", params={"limit": "100"})).json()
    assert room["room_id"] not in [r["room_id"] for r in page["rooms"]]
    index = live_server.parts.keys.rooms_index()
    assert await live_server.parts.redis.zscore(index, room["room_id"]) is None


async def test_forwarded_for_counts_only_from_trusted_proxies(
    redis_server: TestRedis,
) -> None:
    trusting = make_settings(
        LIVE_SERVER_TRUSTED_PROXIES="127.0.0.0/8", LIVE_LIMITS_SESSIONS_PER_IP_PER_MIN="2"
    )
    server, task, port, _ = await start_server(trusting, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def create(ip: str) -> int:
                answer = await http.post(
                    "/api/sessions", json={"name": "a"}, headers={"x-forwarded-for": ip}
                )
                return answer.status_code

            # Each client behind the proxy has its own limit.
            assert [await create("203.0.113.7") for _ in range(3)] == [201, 201, 429]
            assert await create("203.0.113.8") == 201
    finally:
        server.should_exit = True
        await task
    untrusting = make_settings(LIVE_LIMITS_SESSIONS_PER_IP_PER_MIN="2")
    server, task, port, _ = await start_server(untrusting, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            codes = [
                (
                    await http.post(
                        "/api/sessions",
                        json={"name": "a"},
                        headers={"x-forwarded-for": f"203.0.113.{i}"},
                    )
                ).status_code
                for i in range(3)
            ]
            # A spoofed header from an untrusted peer changes nothing: one address, one limit.
            assert codes == [201, 201, 429]
    finally:
        server.should_exit = True
        await task
