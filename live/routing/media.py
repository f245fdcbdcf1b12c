"""Running a WHIP/WHEP/DELETE where the room's media lives: here, or on its owner.

The public handlers (live.api.media) check the caller, the room and the body, then ask the
router. The router claims the room (a lease in Redis, live.routing.owners) and either calls
this process's media (`LocalMedia`) or forwards the bare media call to the owner's private
listener, whose app (`internal_app`) calls the owner's `LocalMedia`. A forward that fails
answers 503 to that one client and changes nothing: ownership moves only when the owner's
lease expires.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Protocol

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.errors import LiveError, NotFound, Unavailable
from live.routing.forward import Forwarder, OwnerUnreachable
from live.routing.owners import MediaOwners

log = logging.getLogger("live.routing")

SESSION_HEADER = "x-live-session"
WORKER_HEADER = "x-live-worker"
SDP = "application/sdp"


class LocalMedia(Protocol):
    """This process's media (live.media.hub.MediaHub), as the router calls it."""

    async def publish(self, room_id: str, offer: str, room_live: bool) -> tuple[str, str]: ...

    async def play(self, room_id: str, offer: str, room_live: bool) -> tuple[str, str]: ...

    async def end(self, room_id: str, role: str, session_id: str) -> None: ...

    async def end_room(self, room_id: str) -> None: ...


@dataclass(frozen=True)
class MediaReply:
    """What the process holding the room answered."""

    status: int
    body: bytes = b""  # the SDP answer, or the owner's error body (JSON)
    session_id: str = ""
    worker: str = ""  # the pid of the process holding the room's media
    forwarded: bool = False


class MediaRouter:
    def __init__(self, owners: MediaOwners, forwarder: Forwarder, local: LocalMedia) -> None:
        self._owners = owners
        self._forwarder = forwarder
        self._local = local
        self._pid = str(os.getpid())
        # This process's private listener, set once it listens (`start`).
        self.address = ""

    def start(self, address: str) -> None:
        self.address = address

    async def offer(self, role: str, room_id: str, offer: str, room_live: bool) -> MediaReply:
        """WHIP (`role` "whip") or WHEP ("whep"): the SDP answer from the room's owner."""
        owner = await self._owners.claim(room_id, self.address)
        if owner == self.address:
            start = self._local.publish if role == "whip" else self._local.play
            session_id, answer = await start(room_id, offer, room_live)
            return MediaReply(201, answer.encode(), session_id, self._pid)
        path = f"/internal/media/rooms/{room_id}/{role}?live={int(room_live)}"
        return await self._forward(room_id, owner, "POST", path, offer.encode())

    async def end(self, room_id: str, role: str, session_id: str) -> MediaReply:
        """DELETE on a session's Location, wherever the session lives."""
        owner = await self._owners.owner(room_id)
        if owner is None:
            raise NotFound("no such media session")
        if owner == self.address:
            await self._local.end(room_id, "publisher" if role == "whip" else "viewer", session_id)
            return MediaReply(200, worker=self._pid)
        path = f"/internal/media/rooms/{room_id}/{role}/{session_id}"
        return await self._forward(room_id, owner, "DELETE", path, b"")

    async def end_room(self, room_id: str) -> None:
        """The room ended: its media goes, wherever it lives (a room-ended listener)."""
        owner = await self._owners.owner(room_id)
        if owner is None or owner == self.address:
            await self._local.end_room(room_id)
            return
        try:
            await self._forwarder.send(owner, "POST", f"/internal/media/rooms/{room_id}/end")
        except OwnerUnreachable:
            log.warning("could not reach the room's media process", extra={"room_id": room_id})

    async def _forward(
        self, room_id: str, owner: str, method: str, path: str, body: bytes
    ) -> MediaReply:
        headers = {"content-type": SDP} if body else {}
        try:
            answer = await self._forwarder.send(owner, method, path, body, headers)
        except OwnerUnreachable as exc:
            log.warning(
                "media owner unreachable",
                extra={"room_id": room_id, "owner": owner, "error": str(exc)},
            )
            raise Unavailable("the room's media process is not answering; retry") from None
        return MediaReply(
            answer.status_code,
            answer.content,
            answer.headers.get(SESSION_HEADER, ""),
            answer.headers.get(WORKER_HEADER, ""),
            forwarded=True,
        )

    def internal_app(self) -> Starlette:
        """The owner's side of a forward, served on this process's private listener."""
        base = "/internal/media/rooms/{room_id}"
        routes = [
            Route(base + "/end", self._internal_end_room, methods=["POST"]),
            Route(base + "/{role}", self._internal_offer, methods=["POST"]),
            Route(base + "/{role}/{session_id}", self._internal_end, methods=["DELETE"]),
        ]
        return Starlette(
            routes=routes,
            exception_handlers={LiveError: _internal_error, Exception: _internal_unexpected},
        )

    async def _internal_offer(self, request: Request) -> Response:
        role = request.path_params["role"]
        if role not in ("whip", "whep"):
            raise NotFound("no such media endpoint")
        room_id = request.path_params["room_id"]
        offer = (await request.body()).decode("utf-8")
        room_live = request.query_params.get("live") == "1"
        start = self._local.publish if role == "whip" else self._local.play
        session_id, answer = await start(room_id, offer, room_live)
        headers = {SESSION_HEADER: session_id, WORKER_HEADER: self._pid}
        return Response(answer, status_code=201, media_type=SDP, headers=headers)

    async def _internal_end(self, request: Request) -> Response:
        params = request.path_params
        role = "publisher" if params["role"] == "whip" else "viewer"
        await self._local.end(params["room_id"], role, params["session_id"])
        return Response(status_code=200, headers={WORKER_HEADER: self._pid})

    async def _internal_end_room(self, request: Request) -> Response:
        await self._local.end_room(request.path_params["room_id"])
        return Response(status_code=204)


async def _internal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    return Response(orjson.dumps(exc.to_body()), exc.status, media_type="application/json")


async def _internal_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in media", extra={"path": request.url.path})
    error = LiveError("internal error", code="internal")
    return Response(orjson.dumps(error.to_body()), 500, media_type="application/json")
