"""The relay tree of a room over nodes, in Redis: which worker pulls the room from where.

The room's origin worker (its owner lease) is the root. On the origin's node every
worker with viewers pulls from the origin. On any other node one worker, the node's
*relay* (a lease in `{r:<room>}:media_relays`, renewed each time it asks), pulls the room
once from another node and every other worker of that node pulls from it; a relay point
feeds at most `[media] max_relay_children` nodes, so past that a node pulls from another
node's relay (`media_relay_route.lua` decides, atomically on the room's slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.routing.workers import WorkerAddress

# A relay that stops renewing (its process died) is replaced within this long.
RELAY_LEASE_MS = 5000
MAX_DEPTH = 8


@dataclass(frozen=True)
class Route:
    """Where this worker pulls a room from.

    `role`: "none" (no origin), "origin" (this worker), "local" (`parent` is a worker of
    this node) or "relay" (this worker is its node's relay; `parent` is on another node).
    """

    owner: str | None
    role: str
    parent: WorkerAddress | None


@dataclass(frozen=True)
class NodeRelay:
    """One node pulling a room: which of its workers, and from which node."""

    node_id: str
    parent: str
    pid: int


class RelayTree:
    def __init__(self, keys: Keys, scripts: Scripts, node_id: str, max_children: int) -> None:
        self._keys = keys
        self._scripts = scripts
        self.node_id = node_id
        self._max_children = max_children

    def _route_keys(self, room_id: str) -> list[str]:
        return [self._keys.room_media_owner(room_id), self._keys.room_media_relays(room_id)]

    async def route(self, room_id: str, address: str) -> Route:
        """Where the worker at `address` pulls `room_id` from now (renews its relay lease
        when it is its node's relay)."""
        args = [self.node_id, address, RELAY_LEASE_MS, self._max_children, MAX_DEPTH]
        owner, role, parent = await self._scripts.call(
            "media_relay_route", self._route_keys(room_id), args
        )
        return Route(
            _text(owner) if owner else None,
            _text(role),
            WorkerAddress.parse(_text(parent)) if parent else None,
        )

    async def leave(self, room_id: str, address: str) -> None:
        """The worker at `address` no longer pulls the room: another takes its place."""
        keys = [self._keys.room_media_relays(room_id)]
        await self._scripts.call("media_relay_leave", keys, [self.node_id, address])

    async def of_room(self, room_id: str) -> list[NodeRelay]:
        flat = await self._scripts.call(
            "media_relays_read", [self._keys.room_media_relays(room_id)], []
        )
        relays = []
        for i in range(0, len(flat), 2):
            entry = orjson.loads(flat[i + 1])
            worker = WorkerAddress.parse(str(entry["a"]))
            relays.append(NodeRelay(_text(flat[i]), str(entry["p"]), worker.pid))
        return sorted(relays, key=lambda r: r.node_id)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
