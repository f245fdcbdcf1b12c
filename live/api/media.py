"""WHIP (host publishing) and WHEP (viewing), RFC 9725: SDP offer in, 201 + Location out.

These handlers check the caller, the room and the offer, then hand the media call to the
router (live.routing.media), which runs it in the process holding the room's media: this
one, or a sibling worker reached over loopback.
"""

from __future__ import annotations

import functools
import os

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, Handler, error_response, json_response, path_param
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.clock import Clock
from live.errors import (
    BadRequest,
    LiveError,
    MethodNotAllowed,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from live.http_input import RequestReader
from live.media.sdp import MAX_SDP_BYTES
from live.media.signalling import ice_servers, link_headers
from live.rooms.store import RoomStore
from live.routing.media import MediaReply, MediaRouter
from live.settings import Settings

SDP = "application/sdp"
# Which process held the session (the room's media), and which one forwarded the request
# to it: for operators following a request across workers.
MEDIA_WORKER = "X-Live-Media-Worker"
FORWARDED_BY = "X-Live-Forwarded-By"
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match",
    "Access-Control-Max-Age": "86400",
}


def require_sdp(request: Request) -> None:
    """415 unless the body is declared `application/sdp` (RFC 9725)."""
    declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if declared != SDP:
        raise UnsupportedMediaType("WHIP and WHEP offers are sent as Content-Type: application/sdp")


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_SDP_BYTES:
        raise PayloadTooLarge(f"the SDP offer must be at most {MAX_SDP_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_SDP_BYTES:
        raise PayloadTooLarge(f"the SDP offer must be at most {MAX_SDP_BYTES} bytes")
    return body


def sdp_text(body: bytes) -> str:
    """The offer with CRLF line ends, or 400 when it is not text."""
    try:
        return body.decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body must be an SDP offer (application/sdp)") from exc


async def patch_session(request: Request) -> Response:
    raise MethodNotAllowed("trickle ICE and ICE restarts are not supported; send a new offer")


class MediaApi:
    """The WHIP/WHEP endpoints; `router` is None on a server built without media."""

    def __init__(
        self,
        reader: RequestReader,
        rooms: RoomStore,
        router: MediaRouter | None,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._reader = reader
        self._rooms = rooms
        self._router = router
        self._media = settings.media
        self._allowed_origins = settings.server.allowed_origins
        self._clock = clock

    def _routed(self) -> MediaRouter:
        if self._router is None:
            raise Unavailable("video is not available on this server")
        return self._router

    def cors_headers(self, request: Request) -> dict[str, str]:
        """CORS for WHIP/WHEP: bearer tokens, no cookies, so any allowed origin may call."""
        allowed = self._allowed_origins
        origin = request.headers.get("origin")
        headers = {"Access-Control-Expose-Headers": "Location, Link"}
        if not allowed:
            headers["Access-Control-Allow-Origin"] = "*"
        elif origin and origin in allowed:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Vary"] = "Origin"
        return headers

    def with_cors(self, handler: Handler, name: str = "") -> Handler:
        """Errors from WHIP/WHEP carry CORS headers too, so browsers can read their code.

        `name` renames the handler, for handlers shared by several paths (OpenAPI ids).
        """

        @functools.wraps(handler)
        async def wrapped(request: Request) -> Response:
            try:
                response = await handler(request)
            except LiveError as exc:
                response = error_response(exc)
                if isinstance(exc, MethodNotAllowed):
                    response.headers["Allow"] = "DELETE, OPTIONS"
            for header, value in self.cors_headers(request).items():
                response.headers.setdefault(header, value)
            return response

        if name:
            wrapped.__name__ = name
        return wrapped

    def _worker_headers(self, reply: MediaReply) -> dict[str, str]:
        """Which process held the room's media, and which forwarded the request to it,
        when `[media] worker_headers` asks for them."""
        if not self._media.worker_headers:
            return {}
        headers = {MEDIA_WORKER: reply.worker} if reply.worker else {}
        if reply.forwarded:
            headers[FORWARDED_BY] = str(os.getpid())
        return headers

    def _answer(self, request: Request, role: str, room_id: str, reply: MediaReply) -> Response:
        if reply.status != 201:
            # The owner's own error (its code and message), passed through.
            return Response(
                reply.body,
                status_code=reply.status,
                media_type="application/json",
                headers=self._worker_headers(reply),
            )
        response = Response(reply.body, status_code=201, media_type=SDP)
        response.headers["Location"] = f"/api/rooms/{room_id}/{role}/{reply.session_id}"
        response.headers.update(self._worker_headers(reply))
        for value in link_headers(self._media, self._clock.now_ms() / 1000, room_id):
            response.headers.append("Link", value)
        return response

    async def _offer(self, request: Request, role: str) -> Response:
        room_id = room_id_of(request)
        identity = self._reader.identity(request)  # optional for WHEP, but a bad one is refused
        if role == "whip":
            require_manager(identity, room_id)
        require_sdp(request)
        room = await self._rooms.get_open(room_id)
        offer = sdp_text(await read_body(request))
        # `[media] max_sessions_per_ip` counts the client's real address (behind
        # `[server] trusted_proxies`, the forwarded one), wherever the session runs.
        client = self._reader.client_ip(request)
        reply = await self._routed().offer(role, room_id, offer, room.live, client)
        return self._answer(request, role, room_id, reply)

    async def whip(self, request: Request) -> Response:
        return await self._offer(request, "whip")

    async def whep(self, request: Request) -> Response:
        return await self._offer(request, "whep")

    async def _end(self, request: Request, role: str) -> Response:
        room_id = room_id_of(request)
        if role == "whip":
            require_manager(self._reader.identity(request), room_id)
        router = self._routed()
        reply = await router.end(room_id, role, path_param(request, "session_id"))
        return Response(reply.body, status_code=reply.status, headers=self._worker_headers(reply))

    async def end_whip(self, request: Request) -> Response:
        return await self._end(request, "whip")

    async def end_whep(self, request: Request) -> Response:
        return await self._end(request, "whep")

    async def preflight(self, request: Request) -> Response:
        response = Response(status_code=204, headers=PREFLIGHT_HEADERS)
        for value in link_headers(self._media, self._clock.now_ms() / 1000):
            response.headers.append("Link", value)
        return response

    async def media_config(self, request: Request) -> Response:
        media = self._media
        servers = ice_servers(media, self._clock.now_ms() / 1000)
        return json_response({"codec": media.codec, "audio_codec": "opus", "ice_servers": servers})

    def endpoints(self) -> list[Endpoint]:
        cors = self.with_cors
        endpoints = [
            Endpoint(
                "GET",
                "/api/media/config",
                self.media_config,
                "Codec and ICE servers for the pages",
                responses={200: "{codec, audio_codec, ice_servers}"},
            )
        ]
        for role, who, handler, ender in (
            ("whip", "host, admin", self.whip, self.end_whip),
            ("whep", "anyone", self.whep, self.end_whep),
        ):
            base = f"/api/rooms/{{room_id}}/{role}"
            session = base + "/{session_id}"
            name = (
                "Publish the room's video (WHIP)"
                if role == "whip"
                else "Watch the room's video (WHEP)"
            )
            endpoints += [
                Endpoint(
                    "POST",
                    base,
                    cors(handler),
                    name,
                    who=who,
                    body={"type": "string", "description": "SDP offer"},
                    content_type=SDP,
                    responses={
                        201: "SDP answer; Location and Link headers",
                        400: "bad_request (no DTLS fingerprint)",
                        404: "not_found",
                        409: "room_ended",
                        415: "unsupported_media_type (not application/sdp)",
                        429: "rate_limited (max_sessions_per_ip, max_viewers_per_room)",
                    },
                ),
                Endpoint(
                    "OPTIONS",
                    base,
                    cors(self.preflight, f"{role}_preflight"),
                    "CORS preflight; Link headers",
                    responses={204: "CORS"},
                ),
                Endpoint(
                    "DELETE",
                    session,
                    cors(ender),
                    "End the session",
                    who=who,
                    responses={200: "ended", 404: "not_found"},
                ),
                Endpoint(
                    "PATCH",
                    session,
                    cors(patch_session, f"{role}_patch_session"),
                    "Trickle ICE (not supported)",
                    responses={405: "method_not_allowed"},
                ),
                Endpoint(
                    "OPTIONS",
                    session,
                    cors(self.preflight, f"{role}_session_preflight"),
                    "CORS preflight",
                    responses={204: "CORS"},
                ),
            ]
        return endpoints
