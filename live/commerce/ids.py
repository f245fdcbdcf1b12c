"""Sale and order ids. Pure.

An id embeds its room's id (`s_<room_id>_<random>`, `o_<room_id>_<random>`), so a handler
given only a sale or order id finds the room's hash tag, and with it every key of the sale,
without a lookup: a buy stays one round trip on one Redis Cluster slot.
"""

from __future__ import annotations

import base64
import os
import re

from live.errors import NotFound
from live.rooms.model import ROOM_ID_RE

_RANDOM = re.compile(r"^[A-Za-z0-9]{8,24}$")


# 72 random bits per id, 12 URL-safe characters with no "_" (so the room id is everything
# before the last "_"). Drawn from os.urandom 256 ids at a time: one system call per id
# showed in the buy path's profile. A forked child draws its own.
_PER_DRAW = 256
_NO_UNDERSCORE = bytes.maketrans(b"-_", b"xy")
_pool: list[str] = []


def _random_part() -> str:
    if not _pool:
        text = base64.urlsafe_b64encode(os.urandom(9 * _PER_DRAW)).translate(_NO_UNDERSCORE)
        # 9 bytes are exactly 12 base64 characters, so each slice encodes its own 9 bytes.
        _pool.extend(text[i : i + 12].decode() for i in range(0, len(text), 12))
    return _pool.pop()


os.register_at_fork(after_in_child=_pool.clear)


def new_sale_id(room_id: str) -> str:
    return f"s_{room_id}_{_random_part()}"


def new_order_id(room_id: str) -> str:
    return f"o_{room_id}_{_random_part()}"


def new_auction_id(room_id: str) -> str:
    return f"a_{room_id}_{_random_part()}"


def new_bid_id(room_id: str) -> str:
    return f"b_{room_id}_{_random_part()}"


_KINDS = {"s": "sale", "o": "order", "a": "auction", "q": "question"}


def new_question_id(room_id: str) -> str:
    return f"q_{room_id}_{_random_part()}"


def sale_room(sale_id: str) -> str:
    """The room of a sale record's id: a sale's, or an auction's (its won lot is sold
    through a one-unit sale record of the auction's id)."""
    return room_of(sale_id, "a" if sale_id.startswith("a_") else "s")


def room_of(some_id: str, kind: str) -> str:
    """The room id inside a sale (`kind` "s"), order ("o"), auction ("a") or question ("q")
    id, or 404 if it is not one."""
    head, sep, rand = some_id.rpartition("_")
    prefix = kind + "_"
    room_id = head[len(prefix) :]
    if not sep or not head.startswith(prefix) or not ROOM_ID_RE.match(room_id):
        raise NotFound(f"{_KINDS.get(kind, 'id')} {some_id!r} not found")
    if not _RANDOM.match(rand):
        raise NotFound(f"{_KINDS.get(kind, 'id')} {some_id!r} not found")
    return room_id
