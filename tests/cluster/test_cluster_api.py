"""The HTTP API over a real Redis Cluster: every store's calls (room transactions, the
global indexes, pipelines over many slots, order writes with replicated durability)."""

from __future__ import annotations

import asyncio
import secrets
import time

from tests.conftest import LiveServer
from tests.serving import ADMIN, new_buyers, open_sale


async def test_a_show_from_room_to_ended_runs_on_a_cluster(cluster_server: LiveServer) -> None:
    http = cluster_server.http
    room, sale = await open_sale(http, stock=5, per_buyer_limit=2)
    room_id, sale_id = room["room_id"], sale["sale_id"]
    listed = (await http.get("/api/rooms")).json()
    assert room_id in [r["room_id"] for r in listed["rooms"]]
    products = (await http.get("/api/products", headers=ADMIN)).json()
    assert sale["sku"] in [p["sku"] for p in products["products"]]
    assert [
        p["sku"] for p in (await http.get(f"/api/rooms/{room_id}/products")).json()["products"]
    ] == [sale["sku"]]
    buyer, other = await new_buyers(http, 2)
    path = f"/api/sales/{sale_id}/orders"

    async def buy(token: str, qty: int) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(8)}
        answer = await http.post(path, json={"qty": qty}, headers=headers)
        assert answer.status_code == 201, answer.text
        order: dict[str, str] = answer.json()
        return order

    paid = await buy(buyer, 2)
    cancelled = await buy(other, 1)
    auth = {"Authorization": f"Bearer {buyer}"}
    answer = await http.post(
        f"/api/orders/{paid['order_id']}/pay", json={"payment_id": "pay-1"}, headers=auth
    )
    assert answer.status_code == 200, answer.text
    answer = await http.post(
        f"/api/orders/{cancelled['order_id']}/cancel", headers={"Authorization": f"Bearer {other}"}
    )
    assert answer.status_code == 200, answer.text
    state = (await http.get(f"/api/sales/{sale_id}")).json()
    assert (state["left"], state["held"], state["sold"]) == (3, 0, 2)
    # The sale workers' pipelines (sweeps, the order record) run over the cluster too.
    deadline = time.monotonic() + 10
    recorded: list[str] = []
    while len(recorded) < 2 and time.monotonic() < deadline:
        page = await http.get(f"/api/rooms/{room_id}/orders", headers=ADMIN)
        recorded = [o["order_id"] for o in page.json()["orders"]]
        await asyncio.sleep(0.1)
    assert set(recorded) == {paid["order_id"], cancelled["order_id"]}
    assert (await http.post(f"/api/sales/{sale_id}/close", headers=ADMIN)).status_code == 200
    ended = await http.post(f"/api/rooms/{room_id}/end", headers=ADMIN)
    assert ended.status_code == 200, ended.text
    assert (await http.get(f"/api/rooms/{room_id}")).json()["status"] == "ended"
    listed = (await http.get("/api/rooms")).json()
    assert room_id not in [r["room_id"] for r in listed["rooms"]]
