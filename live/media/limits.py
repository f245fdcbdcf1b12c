"""`[media] max_sessions_per_ip` and `max_viewers_per_room`, counted over every process in
Redis (leases, as live.realtime.conncap): a flood of offers from one address, or into one
room, meets 429 `rate_limited` before it costs a peer connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from live.errors import RateLimited
from live.http_input import in_networks
from live.media.memory import FreedMemory
from live.realtime.conncap import ConnectionCap
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

log = logging.getLogger("live.media")


@dataclass
class Ticket:
    """The leases one media session holds (released together when it ends)."""

    leases: list[tuple[ConnectionCap, str]] = field(default_factory=list)


class MediaLimits:
    def __init__(
        self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings, process_id: str
    ) -> None:
        media = settings.media
        heartbeat_s = settings.realtime.presence_heartbeat_s
        self._exempt = settings.limits.exempt_networks
        self._per_ip = ConnectionCap(
            redis,
            keys,
            scripts,
            process_id,
            limit=media.max_sessions_per_ip,
            heartbeat_s=heartbeat_s,
            key_of=keys.media_leases,
        )
        self._per_room = ConnectionCap(
            redis,
            keys,
            scripts,
            process_id,
            limit=media.max_viewers_per_room,
            heartbeat_s=heartbeat_s,
            key_of=keys.room_media_viewer_leases,
        )
        self._every_s = heartbeat_s
        self._held: dict[str, Ticket] = {}
        self.freed = FreedMemory()
        self._renewer: asyncio.Task[None] | None = None

    async def admit(self, address: str, room_id: str, role: str) -> Ticket:
        """Leases for one more session, or 429 `rate_limited` (nothing held then)."""
        ticket = Ticket()
        if address and not in_networks(address, self._exempt):
            lease = await self._per_ip.admit(address)
            if lease is None:
                raise RateLimited("too many media sessions from this address")
            ticket.leases.append((self._per_ip, lease))
        if role == "viewer":
            lease = await self._per_room.admit(room_id)
            if lease is None:
                self.release(ticket)
                raise RateLimited("this room has as many viewers as it can take; retry later")
            ticket.leases.append((self._per_room, lease))
        return ticket

    def bind(self, session_id: str, ticket: Ticket) -> None:
        self._held[session_id] = ticket

    def session_ended(self, session_id: str) -> list[asyncio.Task[None]]:
        """The session is gone: its leases are removed (the removals, to wait for)."""
        ticket = self._held.pop(session_id, None)
        self.freed.note_closed()
        return [] if ticket is None else self.release(ticket)

    @staticmethod
    def release(ticket: Ticket) -> list[asyncio.Task[None]]:
        removals = [task for cap, lease in ticket.leases if (task := cap.release(lease))]
        ticket.leases.clear()
        return removals

    def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_forever())

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        for cap in (self._per_ip, self._per_room):
            with contextlib.suppress(RedisError, OSError):
                await cap.release_all()

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            self.freed.maybe_trim()
            try:
                await self._per_ip.refresh()
                await self._per_room.refresh()
            except (RedisError, OSError) as exc:
                log.warning("media session leases not renewed", extra={"error": str(exc)})
