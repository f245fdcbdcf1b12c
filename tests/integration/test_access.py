"""Who may do what, end to end: viewers, another room's host, forged and expired tokens."""

from __future__ import annotations

import secrets

from live.auth import Identity, Role
from tests.conftest import LiveServer


async def test_access_matrix(live_server: LiveServer) -> None:
    room = await live_server.new_room()
    other = await live_server.new_room()
    room_id = room["room_id"]
    product = await live_server.new_product()
    await live_server.admin("POST", f"/api/rooms/{room_id}/products", json={"sku": product["sku"]})
    sale = (
        await live_server.as_user(
            room["host_token"],
            "POST",
            f"/api/rooms/{room_id}/sales",
            json={
                "sku": product["sku"],
                "stock": 5,
                "price_cents": 100,
                "per_buyer_limit": 1,
                "hold_s": 60,
                "duration_s": 600,
            },
        )
    ).json()
    mei = await live_server.new_viewer("Mei")
    kai = await live_server.new_viewer("Kai")
    order = (
        await live_server.as_user(
            mei["token"],
            "POST",
            f"/api/sales/{sale['sale_id']}/orders",
            json={"qty": 1},
            headers={"Idempotency-Key": secrets.token_hex(8)},
        )
    ).json()
    order_path = f"/api/orders/{order['order_id']}"

    svc = live_server.parts
    expired = svc.authenticator.signer.issue(
        Identity(Role.HOST, "h_x", "Lin", room_id=room_id), ttl_s=1, now=svc.clock.now() - 10
    )
    forged = room["host_token"][:-3] + "abc"
    staff_only = [
        ("GET", f"/api/rooms/{room_id}/orders"),
        ("GET", f"/api/rooms/{room_id}/stats"),
        ("GET", f"/api/rooms/{room_id}/orders/export"),
        ("POST", f"/api/sales/{sale['sale_id']}/close"),
        ("POST", f"/api/rooms/{room_id}/end"),
    ]
    for method, path in staff_only:
        for token in (mei["token"], other["host_token"]):
            answer = await live_server.as_user(token, method, path)
            assert answer.status_code == 403, (method, path, answer.text)
        for token in (expired, forged):
            answer = await live_server.as_user(token, method, path)
            assert answer.status_code == 401, (method, path, answer.text)
        assert (await live_server.http.request(method, path)).status_code == 401
    # Another buyer and another room's host cannot read Mei's order; she and her host can.
    assert (await live_server.as_user(kai["token"], "GET", order_path)).status_code == 403
    assert (await live_server.as_user(other["host_token"], "GET", order_path)).status_code == 403
    assert (await live_server.as_user(mei["token"], "GET", order_path)).status_code == 200
    assert (await live_server.as_user(room["host_token"], "GET", order_path)).status_code == 200
    # Only the buyer pays; a viewer cannot open sales.
    assert (await live_server.as_user(kai["token"], "POST", order_path + "/pay")).status_code == 403
    answer = await live_server.as_user(
        mei["token"],
        "POST",
        f"/api/rooms/{room_id}/sales",
        json={
            "sku": product["sku"],
            "stock": 1,
            "price_cents": 1,
            "per_buyer_limit": 1,
            "hold_s": 60,
            "duration_s": 60,
        },
    )
    assert answer.status_code == 403
    # Admin endpoints need the admin token, not a host's.
    answer = await live_server.as_user(
        room["host_token"],
        "POST",
        "/api/products",
        json={"sku": "x1", "title": "x", "price_cents": 1, "currency": "CNY"},
    )
    assert answer.status_code == 403
