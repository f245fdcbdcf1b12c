"""The verdict of an auction run, from the ledger of accepted bids and what the server says
after the end. Pure: no I/O, so it is tested on hand-made ledgers.

Checks: one winner and one order at the final price; every accepted price above the one
before (in `seq` order); the final price is the second-highest max plus one increment
(capped at the winner's max) or the winner's highest plain bid; the end extended exactly
when a price change came within `extend_s` (standard mode; never in sudden death); and a
replay of every accepted bid through the rules gives each answer the server gave.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from live.commerce.auction_rules import Standing, apply_bid, extended_end, increment_for


@dataclass(frozen=True)
class AcceptedBid:
    user_id: str
    amount: int
    max_cents: int
    answer: dict[str, Any]  # the server's 201 body


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        head = "auction verdict: OK" if self.ok else "auction verdict: BROKEN"
        facts = [f"  {name}: {value}" for name, value in self.facts.items()]
        return [head, *facts, *(f"  problem: {p}" for p in self.problems)]


def judge(
    opened: dict[str, Any],
    final: dict[str, Any],
    bids: list[AcceptedBid],
    orders: list[dict[str, Any]],
) -> Verdict:
    """`opened`: the auction as created; `final`: GET /api/auctions/{id} after its end;
    `orders`: the room's orders (admin); `bids`: every accepted bid of this run."""
    verdict = Verdict()
    verdict.facts.update(accepted_bids=len(bids), price_changes=final.get("bids"))
    _check_end(verdict, final, orders)
    _check_rising(verdict, bids)
    _check_replay(verdict, opened, final, bids)
    _check_formula(verdict, opened, final, bids)
    return verdict


def _check_end(verdict: Verdict, final: dict[str, Any], orders: list[dict[str, Any]]) -> None:
    mine = [o for o in orders if o.get("sale_id") == final["auction_id"]]
    verdict.facts.update(winner=final.get("winner_name"), final_price=final["price_cents"])
    if final.get("status") != "ended":
        verdict.problems.append(f"the auction is {final.get('status')}, not ended")
        return
    if not final.get("winner_id"):
        if mine:
            verdict.problems.append("an order exists though nobody won")
        return
    if len(mine) != 1:
        verdict.problems.append(f"{len(mine)} orders for the auction, not one")
        return
    order = mine[0]
    if (order["user_id"], order["amount_cents"]) != (final["winner_id"], final["price_cents"]):
        verdict.problems.append(f"the order {order['order_id']} is not the winner's final price")


def _check_rising(verdict: Verdict, bids: list[AcceptedBid]) -> None:
    moves = sorted((b.answer for b in bids if "seq" in b.answer), key=lambda a: a["seq"])
    for before, after in itertools.pairwise(moves):
        if after["price_cents"] <= before["price_cents"]:
            verdict.problems.append(
                f"seq {after['seq']} priced {after['price_cents']},"
                f" not above {before['price_cents']}"
            )


def _check_replay(
    verdict: Verdict, opened: dict[str, Any], final: dict[str, Any], bids: list[AcceptedBid]
) -> None:
    ordered = sorted(bids, key=lambda b: b.answer["bid_no"])
    numbers = [b.answer["bid_no"] for b in ordered]
    if numbers != list(range(1, len(numbers) + 1)):
        verdict.problems.append("the ledger misses accepted bids (lost answers): no replay")
        return
    standing = Standing(opened["price_cents"], None, 0)
    ends_at = opened["ends_at"]
    extensions = 0
    for bid in ordered:
        after = apply_bid(standing, opened["start_cents"], bid.user_id, bid.amount, bid.max_cents)
        answer = bid.answer
        if after is None:
            verdict.problems.append(f"bid {answer['bid_no']} was accepted under the minimum")
            return
        moved = standing.leader_id != bid.user_id
        if moved:
            expected_end = extended_end(opened["mode"], ends_at, answer["at"], opened["extend_s"])
            extensions += expected_end != ends_at
            ends_at = expected_end
        if (after.price_cents, after.leader_id, ends_at) != (
            answer["price_cents"],
            answer["leader_id"],
            answer["ends_at"],
        ):
            verdict.problems.append(
                f"bid {answer['bid_no']}: the rules give {after.price_cents}/{after.leader_id}/"
                f"{ends_at}, the server {answer['price_cents']}/{answer['leader_id']}/"
                f"{answer['ends_at']}"
            )
            return
        standing = after
    verdict.facts["extensions"] = extensions
    if bids and (standing.price_cents, ends_at) != (final["price_cents"], final["ends_at"]):
        verdict.problems.append("the replay's end differs from the auction's")


def _check_formula(
    verdict: Verdict, opened: dict[str, Any], final: dict[str, Any], bids: list[AcceptedBid]
) -> None:
    winner = final.get("winner_id")
    if not winner or not bids:
        return
    tops: dict[str, int] = {}
    for bid in bids:
        tops[bid.user_id] = max(tops.get(bid.user_id, 0), bid.max_cents)
    others = [top for user, top in tops.items() if user != winner]
    plain = max((b.amount for b in bids if b.user_id == winner and "seq" in b.answer), default=0)
    capped = opened["start_cents"]
    if others:
        second = max(others)
        capped = min(tops[winner], second + increment_for(second))
    expected = max(capped, plain)
    if expected != final["price_cents"]:
        verdict.problems.append(
            f"final price {final['price_cents']}, but the second max plus one increment "
            f"or the highest plain bid gives {expected}"
        )
