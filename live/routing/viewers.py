"""How many WHEP viewers of a room each process serves, in Redis with a lifetime.

Each process writes its own count on joins and leaves (batched per hub tick) and on its
heartbeat; a count not renewed within `VIEWERS_TTL_MS` (its process was killed) drops out.
`GET /api/rooms/{room_id}/media` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.clock import Clock
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts

VIEWERS_TTL_MS = 15000


@dataclass(frozen=True)
class ProcessViewers:
    node_id: str
    pid: int
    viewers: int


def member(node_id: str, pid: int) -> str:
    return f"{node_id}:{pid}"


def parse_member(text: str, viewers: int) -> ProcessViewers:
    node_id, _, pid = text.rpartition(":")
    return ProcessViewers(node_id, int(pid) if pid.isdigit() else 0, viewers)


class MediaViewers:
    def __init__(self, keys: Keys, scripts: Scripts, clock: Clock) -> None:
        self._keys = keys
        self._scripts = scripts
        self._clock = clock

    def _room_keys(self, room_id: str) -> list[str]:
        return [self._keys.room_media_processes(room_id), self._keys.room_media_viewers(room_id)]

    async def report(self, room_id: str, node_id: str, pid: int, viewers: int) -> None:
        """This process serves `viewers` of the room now (0: none)."""
        args = [member(node_id, pid), viewers, self._clock.now_ms(), VIEWERS_TTL_MS]
        await self._scripts.call("media_viewers", self._room_keys(room_id), args)

    async def of_room(self, room_id: str) -> list[ProcessViewers]:
        flat = await self._scripts.call(
            "media_viewers_read", self._room_keys(room_id), [self._clock.now_ms()]
        )
        pairs = [(_text(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]
        return sorted((parse_member(m, n) for m, n in pairs), key=lambda p: (p.node_id, p.pid))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
