"""Running a WHIP/WHEP/DELETE where it belongs: WHIP at the room's origin, WHEP here.

The public handlers (live.api.media) check the caller, the room and the body, then ask the
router. WHIP claims the room (a lease in Redis, live.routing.owners) and either runs on
this process's media (`LocalMedia`) or is forwarded, bare, to the origin's private
listener, whose app (`internal_app`) calls the origin's `LocalMedia`. WHEP is answered by
this process, which pulls the room from its origin over a relay link
(live.routing.links). A viewer's DELETE goes to the process its session id names. A
forward that fails answers 503 to that one client and changes nothing: the origin moves
only when its lease expires.
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
from live.routing.workers import WorkerAddress, port_of, viewer_session_port

log = logging.getLogger("live.routing")

SESSION_HEADER = "x-live-session"
# The client's address on a forwarded offer, for the owner's `[media] max_sessions_per_ip`
# (never the forwarding worker's loopback address). Set only by `_forward`, and read only by
# `internal_app`, which only the private listener serves (requests there carry the workers'
# secret): a client's own header of that name is never forwarded nor believed.
CLIENT_HEADER = "x-live-client-address"
WORKER_HEADER = "x-live-worker"
SDP = "application/sdp"


class LocalMedia(Protocol):
    """This process's media (live.media.hub.MediaHub), as the router calls it."""

    async def publish(
        self, room_id: str, offer: str, room_live: bool, client: str
    ) -> tuple[str, str]: ...

    async def play(
        self, room_id: str, offer: str, room_live: bool, client: str
    ) -> tuple[str, str]: ...

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
        # This process as the owner lease names it (live.routing.workers), and its private
        # listener's URL; set once it listens (`start`).
        self.address = ""
        self.url = ""

    def start(self, address: str) -> None:
        self.address = address
        self.url = WorkerAddress.parse(address).url

    async def offer(
        self, role: str, room_id: str, offer: str, room_live: bool, client: str = ""
    ) -> MediaReply:
        """WHIP (`role` "whip", at the room's origin) or WHEP ("whep", here): the answer.
        `client`: the caller's real address, counted by the media session limits."""
        if role == "whep":
            session_id, answer = await self._local.play(room_id, offer, room_live, client)
            return MediaReply(201, answer.encode(), session_id, self._pid)
        owner = await self._owners.claim(room_id, self.address)
        if owner == self.address:
            session_id, answer = await self._local.publish(room_id, offer, room_live, client)
            return MediaReply(201, answer.encode(), session_id, self._pid)
        path = f"/internal/media/rooms/{room_id}/{role}?live={int(room_live)}"
        return await self._forward(room_id, _url(owner), "POST", path, offer.encode(), client)

    async def end(self, room_id: str, role: str, session_id: str) -> MediaReply:
        """DELETE on a session's Location, wherever the session lives: a publisher at the
        room's origin, a viewer in the process its id names."""
        if role == "whep":
            port = viewer_session_port(session_id)
            if port is None:
                raise NotFound("no such media session")
            if self.url and port == port_of(self.url):
                await self._local.end(room_id, "viewer", session_id)
                return MediaReply(200, worker=self._pid)
            target = f"http://127.0.0.1:{port}"
        else:
            owner = await self._owners.owner(room_id)
            if owner is None:
                raise NotFound("no such media session")
            if owner == self.address:
                await self._local.end(room_id, "publisher", session_id)
                return MediaReply(200, worker=self._pid)
            target = _url(owner)
        path = f"/internal/media/rooms/{room_id}/{role}/{session_id}"
        return await self._forward(room_id, target, "DELETE", path, b"")

    async def end_room(self, room_id: str) -> None:
        """The room ended: its media goes, here and at its origin (which tells its edges;
        a room-ended listener)."""
        await self._local.end_room(room_id)
        owner = await self._owners.owner(room_id)
        if owner is None or owner == self.address:
            return
        try:
            await self._forwarder.send(_url(owner), "POST", f"/internal/media/rooms/{room_id}/end")
        except OwnerUnreachable:
            log.warning("could not reach the room's media process", extra={"room_id": room_id})

    async def _forward(
        self, room_id: str, target: str, method: str, path: str, body: bytes, client: str = ""
    ) -> MediaReply:
        headers = {"content-type": SDP} if body else {}
        if client:
            headers[CLIENT_HEADER] = client
        try:
            answer = await self._forwarder.send(target, method, path, body, headers)
        except OwnerUnreachable as exc:
            log.warning(
                "media owner unreachable",
                extra={"room_id": room_id, "target": target, "error": str(exc)},
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
        # Believed here only: this app is served by the private listener alone.
        client = request.headers.get(CLIENT_HEADER, "")
        session_id, answer = await start(room_id, offer, room_live, client)
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


def _url(owner: str) -> str:
    """The private listener of the process named by an owner lease."""
    return WorkerAddress.parse(owner).url


async def _internal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    return Response(orjson.dumps(exc.to_body()), exc.status, media_type="application/json")


async def _internal_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in media", extra={"path": request.url.path})
    error = LiveError("internal error", code="internal")
    return Response(orjson.dumps(error.to_body()), 500, media_type="application/json")
