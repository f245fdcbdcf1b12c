"""Search over HTTP with real Redis: freshness, pagination, bad queries."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from live.discovery.moments import Chapter
from live.settings import Settings
from tests.conftest import LiveServer, start_server
from tests.redis_server import TestRedis


async def _found(server: LiveServer, q: str, sku: str, within_s: float = 2.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        answer = (await server.http.get("/api/search", params={"q": q})).json()
        if any(r.get("sku") == sku for r in answer["results"]):
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sku} not found within {within_s}s")


async def test_new_product_and_room_found_within_two_seconds(live_server: LiveServer) -> None:
    word = "zq" + secrets.token_hex(3)
    sku = "sku-" + secrets.token_hex(4)
    await live_server.new_product(sku, title=f"NAS 降噪机柜 {word}", description="quiet")
    await _found(live_server, f"降噪 机柜 {word}", sku)
    answer = (await live_server.http.get("/api/search", params={"q": word})).json()
    top = answer["results"][0]
    assert top["kind"] == "product" and top["url"] == f"/api/products/{sku}"
    room = await live_server.new_room(f"Show {word}")
    answer = (await live_server.http.get("/api/search", params={"q": word, "kind": "room"})).json()
    assert [r["room_id"] for r in answer["results"]] == [room["room_id"]]


async def test_pagination_walks_every_result_once(live_server: LiveServer) -> None:
    word = "pg" + secrets.token_hex(3)
    skus = {f"sku-{word}-{i}" for i in range(7)}
    for sku in skus:
        await live_server.new_product(sku, title=f"Cable {word}")
    last = sorted(skus)[-1]
    await _found(live_server, word, last)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params = {"q": word, "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await live_server.http.get("/api/search", params=params)).json()
        seen += [r["sku"] for r in page["results"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(skus)


async def test_bad_queries_answer_400(live_server: LiveServer) -> None:
    for q in ("", "   ", "x" * 1000, "a\x00b", "tab\there"):
        answer = await live_server.http.get("/api/search", params={"q": q})
        assert answer.status_code == 400, q
        assert answer.json()["error"]["field"] == "q"
    answer = await live_server.http.get("/api/search", params={"q": "x", "kind": "nope"})
    assert answer.status_code == 400


async def test_a_change_on_one_worker_is_found_on_another(
    live_server: LiveServer, redis_server: TestRedis, settings: Settings
) -> None:
    # A second server on the same Redis and keys: another worker (or node) of the shop.
    server, task, port, app = await start_server(settings, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as other:
            word = "xw" + secrets.token_hex(3)
            sku = "sku-" + secrets.token_hex(4)
            await live_server.new_product(sku, title=f"Kettle {word}")
            other_server = LiveServer("", "", app.parts, other)
            assert await _found(other_server, word, sku) < 2.0
            room = await live_server.parts.rooms.get((await live_server.new_room("Tea"))["room_id"])
            chapter = Chapter(61_000, "pin", f"Kettle {word}", sku, ("It boils in a minute",))
            await live_server.parts.moments.chapters(room, [chapter])
            # Both words: the moment; then (the last word dropped) the product.
            await _until_kinds(other, f"{word} boils", ["moment", "product"])
            await live_server.parts.moments.forget([f"{room.room_id}:61000:pin"])
            await _until_kinds(other, f"{word} boils", ["product"])
    finally:
        server.should_exit = True
        await task


async def _until_kinds(http: httpx.AsyncClient, q: str, kinds: list[str]) -> None:
    """Wait (2 s at most: the freshness promise) until `q` finds results of `kinds`."""
    deadline = time.monotonic() + 2
    while True:
        answer = (await http.get("/api/search", params={"q": q})).json()
        if [r["kind"] for r in answer["results"]] == kinds:
            return
        assert time.monotonic() < deadline, (q, answer)
        await asyncio.sleep(0.05)


async def test_pagination_goes_a_thousand_deep_at_most(live_server: LiveServer) -> None:
    answer = await live_server.http.get("/api/search", params={"q": "x", "cursor": "1001"})
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "cursor"
