"""The host's dashboard figures: order value, repeat buyers, returns. Pure.

A room's buyer is a repeat buyer when they had paid in an earlier room (by creation time)
of the same host. Over a host's rooms, a repeat buyer is one who paid in more than one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RoomTotals:
    room_id: str
    created_at: int
    buyers: frozenset[str]  # paid at least once in the room
    orders: int  # paid orders
    gmv_cents: int
    returns: int  # orders with a return requested


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def room_figures(room: RoomTotals, earlier: list[RoomTotals]) -> dict[str, Any]:
    """The figures `GET /api/rooms/{room_id}/stats` adds for `room`."""
    before: set[str] = set()
    for other in earlier:
        if other.created_at < room.created_at and other.room_id != room.room_id:
            before |= other.buyers
    repeat = len(room.buyers & before)
    return {
        "aov_cents": room.gmv_cents // room.orders if room.orders else 0,
        "repeat_buyers": repeat,
        "repeat_buyer_rate": rate(repeat, len(room.buyers)),
        "returns": room.returns,
        "return_rate": rate(room.returns, room.orders),
    }


def host_figures(rooms: list[RoomTotals]) -> dict[str, Any]:
    """The same figures over all of a host's rooms, and `rooms`, a count."""
    seen: dict[str, int] = {}
    for room in rooms:
        for buyer in room.buyers:
            seen[buyer] = seen.get(buyer, 0) + 1
    orders = sum(r.orders for r in rooms)
    gmv = sum(r.gmv_cents for r in rooms)
    returns = sum(r.returns for r in rooms)
    repeat = sum(1 for n in seen.values() if n > 1)
    return {
        "rooms": len(rooms),
        "buyers": len(seen),
        "orders": orders,
        "gmv_cents": gmv,
        "aov_cents": gmv // orders if orders else 0,
        "repeat_buyers": repeat,
        "repeat_buyer_rate": rate(repeat, len(seen)),
        "returns": returns,
        "return_rate": rate(returns, orders),
    }
