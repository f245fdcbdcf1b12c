"""The room channel as a server component: starts the hub and fills the services' hooks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from live.realtime.hub import RoomHub
from live.realtime.store import ChannelStore
from live.rooms.events import emit_durable
from live.services import Services


@contextlib.asynccontextmanager
async def room_channel_component(svc: Services) -> AsyncIterator[RoomHub]:
    store = ChannelStore(svc)
    hub = RoomHub(svc, store)
    svc.extras["channel_store"] = store
    svc.extras["hub"] = hub
    svc.viewer_counts = store.viewer_counts

    async def on_room_ended(room_id: str) -> None:
        # Every process closes its connections of the room (4009) when this event arrives.
        await emit_durable(svc, room_id, {"type": "room_ended"})
        await store.expire_room(room_id)

    svc.room_ended_listeners.append(on_room_ended)
    async with hub.running():
        yield hub
