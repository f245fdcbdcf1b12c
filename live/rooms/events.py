"""Emitting room events from Python (scripts emit theirs in Lua through `_lib.lua`).

Durable events get the room's next `seq`, are kept in the room's history stream and are
published on the room's channel, in one round trip. Latest-value events are only published.
Personal events carry `"to": <user_id>`: the channel delivers them to that user only (and
`order` events also to the room's host and admins).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts

# Called once when a room ends (its channel, its sales and its media each react).
RoomEndedListener = Callable[[str], Awaitable[None]]


class RoomEvents:
    """The `room_event` script, with the keys and history length it needs."""

    def __init__(self, scripts: Scripts, keys: Keys, history_min_events: int) -> None:
        self._scripts = scripts
        self._keys = keys
        self._maxlen = history_min_events

    async def durable(self, room_id: str, event: dict[str, Any]) -> int:
        """Append `event` (with its `type`) to the room's history; return its seq."""
        return int(await self._emit(room_id, "durable", event))

    async def volatile(self, room_id: str, event: dict[str, Any]) -> None:
        """Publish a latest-value or personal event to the room's channel."""
        await self._emit(room_id, "volatile", event)

    async def _emit(self, room_id: str, kind: str, event: dict[str, Any]) -> Any:
        keys = self._keys
        return await self._scripts.call(
            "room_event",
            [keys.room_seq(room_id), keys.room_history(room_id), keys.room_channel(room_id)],
            [kind, orjson.dumps(event), self._maxlen],
        )
