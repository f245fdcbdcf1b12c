"""Search over HTTP with real Redis: freshness, pagination, bad queries."""

from __future__ import annotations

import asyncio
import secrets
import time

from tests.conftest import LiveServer


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
