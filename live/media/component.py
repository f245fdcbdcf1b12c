"""The media component: this process's hub, its private loopback listener, clean-up."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from live.media import aioice_private
from live.media.hub import MediaHub
from live.media.routing import InternalListener, forward
from live.services import Services

log = logging.getLogger("live.media")


@contextlib.asynccontextmanager
async def media_component(svc: Services) -> AsyncIterator[MediaHub]:
    media = svc.settings.media
    aioice_private.limit_udp_ports(media.udp_port_min, media.udp_port_max)
    aioice_private.filter_remote_candidates(
        media.allow_private_candidates, media.max_remote_candidates
    )
    from live.api.media import internal_app

    listener = InternalListener(internal_app(svc))
    hub = MediaHub(svc, await listener.start())
    svc.extras["media"] = hub

    async def on_room_ended(room_id: str) -> None:
        owner = await hub.owner(room_id)
        if owner is None or owner == hub.address:
            await hub.end_room(room_id)
            return
        try:
            await forward(owner, "POST", f"/internal/media/rooms/{room_id}/end", [], b"")
        except (OSError, TimeoutError):
            log.warning("could not reach the room's media process", extra={"room_id": room_id})

    svc.room_ended_listeners.append(on_room_ended)
    hub.start()
    try:
        yield hub
    finally:
        svc.room_ended_listeners.remove(on_room_ended)
        await hub.aclose()
        await listener.aclose()
        svc.extras.pop("media", None)
