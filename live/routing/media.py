"""Running a WHIP/WHEP/DELETE where it belongs: WHIP at the room's origin, WHEP here.

The public handlers (live.api.media) check the caller, the room and the body, then ask the
router. WHEP is answered by this process, which pulls the room over a relay link
(live.routing.links). WHIP runs at the room's origin: a room nobody holds goes to the
least-loaded node (live.routing.placement; a WHIP reaching another node is sent there,
which claims it); a claimed room's WHIP is forwarded, bare, to the origin: to its private
listener when it is a worker of this node (`internal_app` calls the origin's
`LocalMedia`), else to its node (live.routing.peers, sealed with the nodes' secret),
whose router forwards it on inside that node. The answer (the SDP or its error) comes
back as it is, so the host keeps talking to the node it reached: no redirect, and its
token never leaves that node. A viewer's DELETE goes to the process (and node) its session
id names. A forward that fails answers 503 to that one client and changes nothing: the
origin moves only when its lease expires or its process is found dead
(live.routing.presence).
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

from live.errors import BadRequest, LiveError, NotFound, Unavailable
from live.routing.forward import Forwarder, OwnerUnreachable
from live.routing.nodes import Registered
from live.routing.owners import MediaOwners
from live.routing.peers import MAX_BODY_BYTES, MAX_HOPS, NodeCall, NodePeers, PeerAnswer
from live.routing.placement import least_loaded, summarize
from live.routing.sealed import SealError
from live.routing.workers import (
    WorkerAddress,
    port_of,
    viewer_session_node,
    viewer_session_port,
)

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

    def viewer_clock(self, session_id: str) -> str: ...

    async def end(self, room_id: str, role: str, session_id: str) -> None: ...

    async def end_room(self, room_id: str) -> None: ...


class NodeDirectory(Protocol):
    """The live processes of every node (live.routing.presence.NodePresence)."""

    stale_ms: int

    async def processes(self) -> Registered: ...

    async def drain(self, node_id: str, draining: bool) -> None: ...


@dataclass(frozen=True)
class MediaReply:
    """What the process holding the room answered."""

    status: int
    body: bytes = b""  # the SDP answer, or the owner's error body (JSON)
    session_id: str = ""
    worker: str = ""  # the pid of the process holding the room's media
    forwarded: bool = False
    clock: str = ""  # a viewer's media clock (X-Live-Media-Clock), WHEP only


class MediaRouter:
    def __init__(
        self,
        owners: MediaOwners,
        forwarder: Forwarder,
        local: LocalMedia,
        peers: NodePeers,
        directory: NodeDirectory,
        node_id: str,
    ) -> None:
        self._owners = owners
        self._forwarder = forwarder
        self._local = local
        self._peers = peers
        self._directory = directory
        self.node_id = node_id
        self._pid = str(os.getpid())
        # This process as the owner lease names it (live.routing.workers), and its private
        # listener's URL; set once it listens (`start`).
        self.address = ""
        self.url = ""

    def start(self, address: str) -> None:
        self.address = address
        self.url = WorkerAddress.parse(address).url

    async def offer(
        self,
        role: str,
        room_id: str,
        offer: str,
        room_live: bool,
        client: str = "",
        *,
        placed: bool = False,
        hops: int = 0,
    ) -> MediaReply:
        """WHIP (`role` "whip", at the room's origin) or WHEP ("whep", here): the answer.
        `client`: the caller's real address, counted by the media session limits (carried
        along when the offer is forwarded to another worker or node). `placed`: another
        node sent this WHIP here to become the room's origin."""
        if role == "whep":
            session_id, answer = await self._local.play(room_id, offer, room_live, client)
            clock = self._local.viewer_clock(session_id)
            return MediaReply(201, answer.encode(), session_id, self._pid, clock=clock)
        if not placed and await self._owners.owner(room_id) is None:
            target = await self._placement()
            if target is not None:
                call = self._peers.new_call(
                    "whip", room_id, offer=offer, live=room_live, hops=hops + 1, client=client
                )
                try:
                    return await self._to_node(room_id, target, call)
                except Unavailable:
                    pass  # that node is gone: this one takes the room
        owner = await self._owners.claim(room_id, self.address)
        if owner == self.address:
            session_id, answer = await self._local.publish(room_id, offer, room_live, client)
            return MediaReply(201, answer.encode(), session_id, self._pid)
        worker = WorkerAddress.parse(owner)
        if self._elsewhere(worker):
            call = self._peers.new_call(
                "whip", room_id, offer=offer, live=room_live, hops=hops + 1, client=client
            )
            return await self._to_node(room_id, worker.node_url, call)
        path = f"/internal/media/rooms/{room_id}/{role}?live={int(room_live)}"
        return await self._forward(room_id, worker.url, "POST", path, offer.encode(), client)

    async def _placement(self) -> str | None:
        """The advertise URL of the node a new room's origin should go to; None: here."""
        try:
            nodes = summarize(await self._directory.processes())
        except Exception:
            log.exception("could not read the node registry: the room stays here")
            return None
        best = least_loaded(nodes, self.node_id)
        if best is None or best.node_id == self.node_id:
            return None
        return best.url

    def _elsewhere(self, worker: WorkerAddress) -> bool:
        """The worker is on another node that can be reached (a lease written without a
        node URL is reached at its private listener, on this machine)."""
        return bool(worker.node_id and worker.node_id != self.node_id and worker.node_url)

    async def end(self, room_id: str, role: str, session_id: str, *, hops: int = 0) -> MediaReply:
        """DELETE on a session's Location, wherever the session lives: a publisher at the
        room's origin, a viewer in the process (and node) its id names."""
        if role == "whep":
            port = viewer_session_port(session_id)
            node_id = viewer_session_node(session_id)
            if port is None:
                raise NotFound("no such media session")
            if node_id and node_id != self.node_id:
                url = await self._peers.url_of(node_id, self._directory.stale_ms)
                if url is None:
                    raise NotFound("no such media session")  # its node is gone, and it too
                call = self._peers.new_call(
                    "end", room_id, role=role, session_id=session_id, hops=hops + 1
                )
                return await self._to_node(room_id, url, call)
            if self.url and port == port_of(self.url):
                await self._local.end(room_id, "viewer", session_id)
                return MediaReply(200, worker=self._pid)
            target = f"http://127.0.0.1:{port}"
        else:
            owner = await self._owners.owner(room_id)
            if owner is None:
                if await self._owners.ended_lately(room_id, session_id):
                    return MediaReply(200, worker=self._pid)  # it ended as its link closed
                raise NotFound("no such media session")
            if owner == self.address:
                await self._local.end(room_id, "publisher", session_id)
                return MediaReply(200, worker=self._pid)
            worker = WorkerAddress.parse(owner)
            if self._elsewhere(worker):
                call = self._peers.new_call(
                    "end", room_id, role=role, session_id=session_id, hops=hops + 1
                )
                return await self._to_node(room_id, worker.node_url, call)
            target = worker.url
        path = f"/internal/media/rooms/{room_id}/{role}/{session_id}"
        return await self._forward(room_id, target, "DELETE", path, b"")

    async def end_room(self, room_id: str, *, hops: int = 0) -> None:
        """The room ended: its media goes, here and at its origin (which tells the
        processes it feeds, down the tree; a room-ended listener)."""
        await self._local.end_room(room_id)
        owner = await self._owners.owner(room_id)
        if owner is None or owner == self.address:
            return
        worker = WorkerAddress.parse(owner)
        try:
            if self._elsewhere(worker):
                if hops < MAX_HOPS:
                    call = self._peers.new_call("end_room", room_id, hops=hops + 1)
                    await self._peers.call(worker.node_url, call)
                return
            path = f"/internal/media/rooms/{room_id}/end"
            await self._forwarder.send(worker.url, "POST", path)
        except OwnerUnreachable:
            log.warning("could not reach the room's media process", extra={"room_id": room_id})

    async def _to_node(self, room_id: str, node_url: str, call: NodeCall) -> MediaReply:
        if call.hops > MAX_HOPS:
            raise Unavailable("the room's media moved while this request followed it; retry")
        try:
            answer = await self._peers.call(node_url, call)
        except OwnerUnreachable as exc:
            log.warning(
                "media node unreachable",
                extra={"room_id": room_id, "target": node_url, "error": str(exc)},
            )
            raise Unavailable("the room's media node is not answering; retry") from None
        return MediaReply(
            answer.status, answer.body.encode(), answer.session_id, answer.worker, forwarded=True
        )

    async def node_endpoint(self, request: Request) -> Response:
        """`peers.PATH` on the public server: a request from another node, sealed with the
        nodes' secret (anything else is 403, whatever token it carries)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _refused("request too large")
        try:
            nonce, call = await self._peers.receive(await request.body())
        except SealError as exc:
            log.warning("refused a request between nodes", extra={"error": str(exc)})
            return _refused("not a request from a node of this deployment")
        try:
            reply = await self._run(call)
        except LiveError as exc:
            reply = MediaReply(exc.status, orjson.dumps(exc.to_body()))
        answer = PeerAnswer(reply.status, reply.body.decode(), reply.session_id, reply.worker)
        return Response(
            self._peers.seal_answer(nonce, answer), media_type="application/octet-stream"
        )

    async def _run(self, call: NodeCall) -> MediaReply:
        if call.op == "whip":
            return await self.offer(
                "whip",
                call.room_id,
                call.offer,
                call.live,
                call.client,
                placed=True,
                hops=call.hops,
            )
        if call.op == "end" and call.role in ("whip", "whep"):
            return await self.end(call.room_id, call.role, call.session_id, hops=call.hops)
        if call.op == "end_room":
            await self.end_room(call.room_id, hops=call.hops)
            return MediaReply(204)
        raise BadRequest(f"unknown node call {call.op!r}")

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


def _refused(message: str) -> Response:
    body = {"error": {"code": "forbidden", "message": message}}
    return Response(orjson.dumps(body), 403, media_type="application/json")


async def _internal_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    return Response(orjson.dumps(exc.to_body()), exc.status, media_type="application/json")


async def _internal_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error in media", extra={"path": request.url.path})
    error = LiveError("internal error", code="internal")
    return Response(orjson.dumps(error.to_body()), 500, media_type="application/json")
