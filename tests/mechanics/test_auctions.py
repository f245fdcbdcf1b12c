"""Auctions over HTTP on a real server and Redis: proxy bidding, ties, the increment,
extensions, the end and the winner's order."""

from __future__ import annotations

from typing import Any

from tests.commerce.helpers import eventually
from tests.conftest import LiveServer
from tests.mechanics.helpers import open_auctioneer, redis_now_ms
from tests.mechanics.test_auction_rules import HAND_WORKED


async def test_proxy_bidding_in_redis_follows_the_hand_worked_sequence(
    live_server: LiveServer,
) -> None:
    house = await open_auctioneer(live_server)
    auction = await house.open(start_cents=1000)
    assert (auction["status"], auction["price_cents"], auction["leader_id"]) == ("open", 1000, None)
    tokens = {name: house.shop.viewer(name) for name in "ABC"}
    users: dict[str, str] = {}
    for bidder, amount, top, price, leader in HAND_WORKED:
        answer = await house.bid(tokens[bidder], auction["auction_id"], amount, top)
        assert answer.status_code == 201, answer.text
        users.setdefault(bidder, "")
        current = await house.get(auction["auction_id"])
        assert (current["price_cents"], current["leader_name"]) == (price, leader), bidder
        assert answer.json()["price_cents"] == price
    assert "leader_max" not in current  # the leader's max stays hidden
    bids = await house.events("bid")
    # The leader's own raise moves no price: six price changes for seven bids.
    assert [b["price_cents"] for b in bids] == [1000, 1400, 5500, 6000, 6500, 9000]
    assert [b["seq"] for b in bids] == sorted(b["seq"] for b in bids)


async def test_bids_under_the_increment_are_refused_and_keys_replay(
    live_server: LiveServer,
) -> None:
    house = await open_auctioneer(live_server)
    auction_id = (await house.open(start_cents=5000))["auction_id"]
    mei, ann = house.shop.viewer("Mei"), house.shop.viewer("Ann")
    low = await house.bid(mei, auction_id, 4900)
    assert low.status_code == 409 and low.json()["error"]["code"] == "bid_too_low"
    first = await house.bid(mei, auction_id, 5000, key="k1")
    assert first.status_code == 201
    again = await house.bid(mei, auction_id, 5000, key="k1")
    assert (again.status_code, again.json()) == (200, first.json())
    other_body = await house.bid(mei, auction_id, 6000, key="k1")
    assert other_body.status_code == 422
    under = await house.bid(ann, auction_id, 5400)  # $50 + $5 increment
    assert under.status_code == 409
    assert under.json()["error"]["min_cents"] == 5500
    assert (await house.bid(ann, auction_id, 5500)).status_code == 201
    host = await live_server.as_user(
        house.shop.host_token,
        "POST",
        f"/api/auctions/{auction_id}/bids",
        json={"amount_cents": 9000},
        headers={"Idempotency-Key": "h"},
    )
    assert host.status_code == 403


async def _last_second(live_server: LiveServer, ends_at: int, within_ms: int) -> None:
    async def close() -> bool:
        return ends_at - await redis_now_ms(live_server) < within_ms

    await eventually(close, timeout_s=10)


async def test_a_bid_in_the_last_seconds_extends_standard_auctions_only(
    live_server: LiveServer,
) -> None:
    house = await open_auctioneer(live_server)
    standard = await house.open(duration_s=2, extend_s=1)
    sudden = await house.open(duration_s=2, extend_s=1, mode="sudden_death")
    mei = house.shop.viewer("Mei")
    early = await house.bid(mei, standard["auction_id"], 1000)
    assert early.json()["ends_at"] == standard["ends_at"]  # more than extend_s left
    await _last_second(live_server, standard["ends_at"], 900)
    late = await house.bid(house.shop.viewer("Ann"), standard["auction_id"], 1200)
    late_sudden = await house.bid(mei, sudden["auction_id"], 1000)
    assert late.status_code == late_sudden.status_code == 201
    assert late.json()["ends_at"] > standard["ends_at"]
    assert late_sudden.json()["ends_at"] == sudden["ends_at"]
    (event,) = [e for e in await house.events("bid") if e["price_cents"] == 1200]
    assert event["extended"] is True and event["ends_at"] == late.json()["ends_at"]


async def test_the_winner_gets_a_held_order_and_pays_it(live_server: LiveServer) -> None:
    house = await open_auctioneer(live_server)
    auction = await house.open(duration_s=1, start_cents=2000, mode="sudden_death")
    auction_id = auction["auction_id"]
    mei, ann = house.shop.viewer("Mei"), house.shop.viewer("Ann")
    assert (await house.bid(mei, auction_id, 2000, 3000)).status_code == 201
    assert (await house.bid(ann, auction_id, 2200)).status_code == 201

    async def ended() -> dict[str, Any] | None:
        current = await house.get(auction_id)
        return current if current["status"] == "ended" else None

    final = await eventually(ended)
    assert (final["winner_name"], final["price_cents"]) == ("Mei", 2400)
    (event,) = await house.events("auction_ended")
    assert (event["winner_name"], event["price_cents"]) == ("Mei", 2400)
    late = await house.bid(ann, auction_id, 5000)
    assert late.json()["error"]["code"] == "auction_ended"
    order = (await live_server.as_user(mei, "GET", f"/api/orders/{final['order_id']}")).json()
    assert (order["status"], order["amount_cents"], order["qty"]) == ("held", 2400, 1)
    paid = await live_server.as_user(mei, "POST", f"/api/orders/{final['order_id']}/pay")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"

    async def recorded() -> bool:
        page = await live_server.as_user(
            house.shop.host_token, "GET", f"/api/rooms/{house.shop.room_id}/orders"
        )
        return any(o["status"] == "paid" for o in page.json()["orders"])

    await eventually(recorded)


async def test_no_bid_or_a_bid_under_the_reserve_has_no_winner(live_server: LiveServer) -> None:
    house = await open_auctioneer(live_server)
    empty = await house.open(duration_s=1)
    reserved = await house.open(duration_s=1, reserve_cents=5000, extend_s=1)
    second = await house.open(duration_s=1, mode="sudden_death")  # several at once
    mei = house.shop.viewer("Mei")
    assert (await house.bid(mei, reserved["auction_id"], 1000, 4000)).status_code == 201
    assert (await house.bid(mei, second["auction_id"], 1000)).status_code == 201

    async def all_ended() -> list[dict[str, Any]] | None:
        events = await house.events("auction_ended")
        return events if len(events) == 3 else None

    events = {e["auction_id"]: e for e in await eventually(all_ended)}
    assert events[empty["auction_id"]]["winner_name"] is None
    assert events[reserved["auction_id"]]["winner_name"] is None
    assert events[second["auction_id"]]["winner_name"] == "Mei"
    listed = await live_server.http.get(f"/api/rooms/{house.shop.room_id}/auctions")
    assert {a["status"] for a in listed.json()["auctions"]} == {"ended"}


async def test_an_ended_room_takes_no_bids(live_server: LiveServer) -> None:
    house = await open_auctioneer(live_server)
    auction_id = (await house.open())["auction_id"]
    ended = await live_server.as_user(
        house.shop.host_token, "POST", f"/api/rooms/{house.shop.room_id}/end"
    )
    assert ended.status_code == 200
    late = await house.bid(house.shop.viewer("Mei"), auction_id, 1000)
    assert late.status_code == 409 and late.json()["error"]["code"] == "room_ended"
