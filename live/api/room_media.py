"""`GET /api/rooms/{room_id}/media` (host, admin): where a room's video is served.

The origin is the process named by the room's owner lease (it holds the publisher); the
viewers are each process's own count, written by its media hub with a lifetime, so a
killed worker's viewers drop out of the figures within `VIEWERS_TTL_MS`; `relays` are the
other nodes pulling the room, each from its `parent` node (the relay tree).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.http_input import RequestReader
from live.rooms.store import RoomStore
from live.routing.owners import MediaOwners
from live.routing.tree import RelayTree
from live.routing.viewers import MediaViewers
from live.routing.workers import WorkerAddress


class RoomMediaApi:
    def __init__(
        self,
        reader: RequestReader,
        rooms: RoomStore,
        owners: MediaOwners,
        viewers: MediaViewers,
        tree: RelayTree,
    ) -> None:
        self._reader = reader
        self._rooms = rooms
        self._owners = owners
        self._viewers = viewers
        self._tree = tree

    async def room_media(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        room = await self._rooms.get(room_id)
        owner = await self._owners.owner(room_id)
        origin: dict[str, Any] | None = None
        if owner:
            worker = WorkerAddress.parse(owner)
            origin = {"node_id": worker.node_id, "pid": worker.pid}
        processes = await self._viewers.of_room(room_id)
        relays = await self._tree.of_room(room_id) if owner else []
        return json_response(
            {
                "live": room.live,
                "origin": origin,
                "viewers": sum(p.viewers for p in processes),
                "by_process": [
                    {"node_id": p.node_id, "pid": p.pid, "viewers": p.viewers} for p in processes
                ],
                "relays": [
                    {"node_id": r.node_id, "pid": r.pid, "parent": r.parent} for r in relays
                ],
            }
        )

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/media",
                self.room_media,
                "Where the room's video is served: its origin process and viewers per process",
                who="host, admin",
                responses={
                    200: "{live, origin: {node_id, pid} | null, viewers, by_process,"
                    " relays: [{node_id, pid, parent}]}",
                    404: "not_found",
                },
            )
        ]
