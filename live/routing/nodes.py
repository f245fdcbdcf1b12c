"""The node registry in Redis: every `live serve` process's heartbeat, on one slot.

Each process writes its entry (its node, advertise URL, worker address, the rooms it
serves and originates, its viewers) every beat (`live.routing.presence`); one that stays
silent past the stale time is swept out by the next beat of any other process, which is
handed its entry once, to release what it held. Two keys under the tag
`{<prefix>:nodes}` (`node_beat.lua`, `node_read.lua`, `node_leave.lua`), bounded by the
live processes and by `MAX_PROCESSES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts

MAX_PROCESSES = 4096
DEAD_PER_BEAT = 16
# Longest lists of rooms one entry carries (the counts are exact).
MAX_LISTED_ROOMS = 500
NONCE_TTL_MS = 60_000


@dataclass(frozen=True)
class ProcessEntry:
    """One process as the registry holds it."""

    node_id: str
    pid: int
    url: str = ""  # its node's advertise URL
    address: str = ""  # its worker address (the owner lease's form), "" without media
    rooms: tuple[str, ...] = ()  # rooms it serves media of (publisher or viewers)
    origins: tuple[str, ...] = ()  # rooms whose publisher it holds
    viewers: int = 0
    room_count: int = 0
    seen_at: int = 0  # Redis ms of its last heartbeat (filled in on reading)

    @property
    def member(self) -> str:
        return f"{self.node_id}:{self.pid}"

    def encode(self) -> str:
        return orjson.dumps(
            {
                "node": self.node_id,
                "pid": self.pid,
                "url": self.url,
                "address": self.address,
                "rooms": list(self.rooms[:MAX_LISTED_ROOMS]),
                "origins": list(self.origins[:MAX_LISTED_ROOMS]),
                "viewers": self.viewers,
                "room_count": max(self.room_count, len(self.rooms)),
            }
        ).decode()

    @classmethod
    def parse(cls, text: str | bytes, seen_at: int = 0) -> ProcessEntry | None:
        try:
            raw = orjson.loads(text)
            return cls(
                str(raw["node"]),
                int(raw["pid"]),
                str(raw.get("url", "")),
                str(raw.get("address", "")),
                tuple(str(r) for r in raw.get("rooms", ())),
                tuple(str(r) for r in raw.get("origins", ())),
                int(raw.get("viewers", 0)),
                int(raw.get("room_count", 0)),
                seen_at,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Beat:
    """What one heartbeat learned: whether this process was still registered, and the
    dead processes it must clean up after."""

    known: bool
    refused: bool = False
    dead: list[ProcessEntry] = field(default_factory=list)


@dataclass(frozen=True)
class Registered:
    """The registry as read: its live processes, and the node ids being drained."""

    processes: list[ProcessEntry]
    draining: frozenset[str] = frozenset()


class NodeRegistry:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts

    def _registry_keys(self) -> list[str]:
        return [self._keys.node_processes(), self._keys.node_seen()]

    async def beat(self, entry: ProcessEntry, stale_ms: int) -> Beat:
        args = [entry.member, entry.encode(), stale_ms, MAX_PROCESSES, DEAD_PER_BEAT]
        reply = await self._scripts.call("node_beat", self._registry_keys(), args)
        known = int(reply[0])
        if known < 0:
            return Beat(known=False, refused=True)
        dead = [e for e in (ProcessEntry.parse(raw) for raw in reply[1:]) if e is not None]
        return Beat(known=bool(known), dead=dead)

    async def processes(self, stale_ms: int) -> Registered:
        """Every live process (by node, then pid) and the nodes being drained."""
        keys = [*self._registry_keys(), self._keys.nodes_draining()]
        draining, flat = await self._scripts.call("node_read", keys, [stale_ms])
        entries = [
            ProcessEntry.parse(flat[i], int(float(flat[i + 1]))) for i in range(0, len(flat), 2)
        ]
        live = sorted((e for e in entries if e is not None), key=lambda e: (e.node_id, e.pid))
        return Registered(live, frozenset(_text(n) for n in draining))

    async def drain(self, node_id: str, draining: bool) -> None:
        """Mark a node as drained (no new room's origin goes there) or not any more."""
        if draining:
            await self._redis.sadd(self._keys.nodes_draining(), node_id)
        else:
            await self._redis.srem(self._keys.nodes_draining(), node_id)

    async def leave(self, entry: ProcessEntry) -> None:
        await self._scripts.call("node_leave", self._registry_keys(), [entry.member])

    async def first_use(self, nonce: bytes) -> bool:
        """True the first time a request between nodes carrying `nonce` is seen."""
        key = self._keys.node_nonce(nonce.hex())
        return bool(await self._redis.set(key, b"1", nx=True, px=NONCE_TTL_MS))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
