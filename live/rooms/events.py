"""Emitting room events from Python (scripts emit theirs in Lua through `_lib.lua`).

Durable events get the room's next `seq`, are kept in the room's history stream and are
published on the room's channel, in one round trip. Latest-value events are only published.
Personal events carry `"to": <user_id>`: the channel delivers them to that user only (and
`order` events also to the room's host and admins).
"""

from __future__ import annotations

from typing import Any

import orjson

from live.services import Services


async def emit_durable(svc: Services, room_id: str, event: dict[str, Any]) -> int:
    """Append `event` (with its `type`) to the room's history; return its seq."""
    return int(await _emit(svc, room_id, "durable", event))


async def emit_volatile(svc: Services, room_id: str, event: dict[str, Any]) -> None:
    """Publish a latest-value or personal event to the room's channel."""
    await _emit(svc, room_id, "volatile", event)


async def _emit(svc: Services, room_id: str, kind: str, event: dict[str, Any]) -> Any:
    keys = svc.keys
    return await svc.scripts.call(
        "room_event",
        [keys.room_seq(room_id), keys.room_history(room_id), keys.room_channel(room_id)],
        [kind, orjson.dumps(event), svc.settings.realtime.history_min_events],
    )
