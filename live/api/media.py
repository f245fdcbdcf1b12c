"""WHIP (host publishing) and WHEP (viewing), RFC 9725: SDP offer in, 201 + Location out.

A room's media lives in one process; a request landing on another worker is forwarded to
it over loopback (`live.media.routing`). The forwarded request runs these same handlers on
the owner's private listener, where `app.state.media_internal` is set.
"""

from __future__ import annotations

import functools
import logging
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.api.http import (
    Endpoint,
    Handler,
    error_response,
    identity_of,
    json_response,
    path_param,
    services,
)
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.errors import (
    BadRequest,
    LiveError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
)
from live.media.hub import MediaHub
from live.media.routing import forward
from live.media.sdp import MAX_SDP_BYTES
from live.media.signalling import ice_servers, link_headers
from live.security.client_address import CLIENT_HEADER, client_address
from live.services import Services

log = logging.getLogger("live.media")

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


def hub_of(svc: Services) -> MediaHub:
    hub = svc.extras.get("media")
    if not isinstance(hub, MediaHub):
        raise Unavailable("video is not available on this server")
    return hub


def cors_headers(request: Request) -> dict[str, str]:
    """CORS for WHIP/WHEP: bearer tokens, no cookies, so any allowed origin may call."""
    allowed = services(request).settings.server.allowed_origins
    origin = request.headers.get("origin")
    headers = {"Access-Control-Expose-Headers": "Location, Link"}
    if not allowed:
        headers["Access-Control-Allow-Origin"] = "*"
    elif origin and origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    return headers


def with_cors(handler: Handler, name: str = "") -> Handler:
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
        for name, value in cors_headers(request).items():
            response.headers.setdefault(name, value)
        return response

    if name:
        wrapped.__name__ = name
    return wrapped


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


async def read_sdp(request: Request) -> str:
    body = await read_body(request)
    try:
        return body.decode("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")
    except UnicodeDecodeError as exc:
        raise BadRequest("the body must be an SDP offer (application/sdp)") from exc


def worker_headers(svc: Services, name: str = MEDIA_WORKER) -> dict[str, str]:
    """This process's id under `name` (which held the room's media, or which forwarded the
    request), when `[media] worker_headers` asks for it."""
    return {name: str(os.getpid())} if svc.settings.media.worker_headers else {}


async def _via_owner(
    request: Request, hub: MediaHub, room_id: str, body: bytes, *, claim: bool
) -> Response | None:
    """The owner's answer when another process holds the room; None to handle it here."""
    if getattr(request.app.state, "media_internal", False):
        return None
    owner = await (hub.claim(room_id) if claim else hub.owner(room_id))
    if owner is None:
        raise NotFound("no such media session")
    for _ in range(2):
        if owner == hub.address:
            return None
        try:
            # The owner counts limits on the client's address, not on ours (and never on
            # one the client wrote itself).
            carried = (CLIENT_HEADER, client_address(request, services(request).settings))
            passed = [(k, v) for k, v in request.headers.items() if k.lower() != CLIENT_HEADER]
            status, headers, data = await forward(
                owner, request.method, request.url.path, [*passed, carried], body
            )
        except (OSError, TimeoutError):
            log.warning("media owner unreachable", extra={"room_id": room_id, "owner": owner})
            if not claim:
                raise NotFound("no such media session") from None
            owner = await hub.claim(room_id, dead=owner)
            continue
        response = Response(data, status_code=status)
        for name, value in headers:
            if name.lower() in ("link",):
                response.headers.append(name, value)
            else:
                response.headers[name] = value
        response.headers.update(worker_headers(services(request), FORWARDED_BY))
        return response
    raise Unavailable("the room's media process is not answering; retry")


def _sdp_answer(
    request: Request, role: str, room_id: str, session_id: str, answer: str
) -> Response:
    response = Response(answer, status_code=201, media_type=SDP)
    response.headers["Location"] = f"/api/rooms/{room_id}/{role}/{session_id}"
    svc = services(request)
    response.headers.update(worker_headers(svc))
    for value in link_headers(svc.settings.media, svc.now_ms() / 1000, room_id):
        response.headers.append("Link", value)
    return response


async def whip(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    require_manager(identity_of(request), room_id)
    require_sdp(request)
    room = await svc.rooms.get_open(room_id)
    body = await read_body(request)
    hub = hub_of(svc)
    forwarded = await _via_owner(request, hub, room_id, body, claim=True)
    if forwarded is not None:
        return forwarded
    client = client_address(request, svc.settings)
    session_id, answer = await hub.publish(room_id, await read_sdp(request), room.live, client)
    return _sdp_answer(request, "whip", room_id, session_id, answer)


async def whep(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    identity_of(request)  # a token is optional, but a bad one is refused
    require_sdp(request)
    room = await svc.rooms.get_open(room_id)
    body = await read_body(request)
    hub = hub_of(svc)
    forwarded = await _via_owner(request, hub, room_id, body, claim=True)
    if forwarded is not None:
        return forwarded
    client = client_address(request, svc.settings)
    session_id, answer = await hub.play(room_id, await read_sdp(request), room.live, client)
    return _sdp_answer(request, "whep", room_id, session_id, answer)


async def _end(request: Request, role: str) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    if role == "whip":
        require_manager(identity_of(request), room_id)
    hub = hub_of(svc)
    forwarded = await _via_owner(request, hub, room_id, b"", claim=False)
    if forwarded is not None:
        return forwarded
    await hub.end(
        room_id, "publisher" if role == "whip" else "viewer", path_param(request, "session_id")
    )
    return Response(status_code=200, headers=worker_headers(svc))


async def end_whip(request: Request) -> Response:
    return await _end(request, "whip")


async def end_whep(request: Request) -> Response:
    return await _end(request, "whep")


async def patch_session(request: Request) -> Response:
    raise MethodNotAllowed("trickle ICE and ICE restarts are not supported; send a new offer")


async def preflight(request: Request) -> Response:
    response = Response(status_code=204, headers=PREFLIGHT_HEADERS)
    svc = services(request)
    for value in link_headers(svc.settings.media, svc.now_ms() / 1000):
        response.headers.append("Link", value)
    return response


async def media_config(request: Request) -> Response:
    svc = services(request)
    media = svc.settings.media
    servers = ice_servers(media, svc.now_ms() / 1000)
    return json_response({"codec": media.codec, "audio_codec": "opus", "ice_servers": servers})


async def end_room_media(request: Request) -> Response:
    """Internal only: the room ended on another worker; close its media here."""
    await hub_of(services(request)).end_room(room_id_of(request))
    return Response(status_code=204)


def _endpoints() -> list[Endpoint]:
    endpoints = [
        Endpoint(
            "GET",
            "/api/media/config",
            media_config,
            "Codec and ICE servers for the pages",
            responses={200: "{codec, audio_codec, ice_servers}"},
        )
    ]
    for role, who, handler, ender in (
        ("whip", "host, admin", whip, end_whip),
        ("whep", "anyone", whep, end_whep),
    ):
        base = f"/api/rooms/{{room_id}}/{role}"
        session = base + "/{session_id}"
        name = (
            "Publish the room's video (WHIP)" if role == "whip" else "Watch the room's video (WHEP)"
        )
        endpoints += [
            Endpoint(
                "POST",
                base,
                with_cors(handler),
                name,
                who=who,
                body={"type": "string", "description": "SDP offer"},
                content_type=SDP,
                responses={
                    201: "SDP answer; Location and Link headers",
                    404: "not_found",
                    409: "room_ended",
                },
            ),
            Endpoint(
                "OPTIONS",
                base,
                with_cors(preflight, f"{role}_preflight"),
                "CORS preflight; Link headers",
                responses={204: "CORS"},
            ),
            Endpoint(
                "DELETE",
                session,
                with_cors(ender),
                "End the session",
                who=who,
                responses={200: "ended", 404: "not_found"},
            ),
            Endpoint(
                "PATCH",
                session,
                with_cors(patch_session, f"{role}_patch_session"),
                "Trickle ICE (not supported)",
                responses={405: "method_not_allowed"},
            ),
            Endpoint(
                "OPTIONS",
                session,
                with_cors(preflight, f"{role}_session_preflight"),
                "CORS preflight",
                responses={204: "CORS"},
            ),
        ]
    return endpoints


ENDPOINTS = _endpoints()


def internal_app(svc: Services) -> Starlette:
    """The media endpoints alone, for the private loopback listener of this process."""
    routes = [Route(ep.path, ep.handler, methods=[ep.method]) for ep in ENDPOINTS]
    routes.append(Route("/internal/media/rooms/{room_id}/end", end_room_media, methods=["POST"]))

    async def live_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LiveError)
        return error_response(exc)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in media", extra={"path": request.url.path})
        return error_response(LiveError("internal error", code="internal"))

    app = Starlette(
        routes=routes, exception_handlers={LiveError: live_error, Exception: unexpected}
    )
    app.state.services = svc
    app.state.media_internal = True
    return app
