"""POST /api/rooms/{room_id}/host-token: a new host link; every earlier one is retired."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, identity_of, json_response, services
from live.api.rooms import public_url, room_id_of
from live.auth import Identity, Role, require_manager
from live.security.host_tokens import HostTokenGate


async def renew_host_token(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    require_manager(identity_of(request), room_id)
    room = await svc.rooms.get_open(room_id)
    gate: HostTokenGate = request.app.host_gate
    generation = await gate.generations(svc).bump(room_id)
    host = Identity(
        Role.HOST, room.host_user_id, room.host_name, room_id=room_id, generation=generation
    )
    token = svc.signer.issue(host, ttl_s=svc.settings.auth.host_token_ttl_s, now=svc.now())
    url = f"{public_url(svc, request)}/studio/{room_id}#token={token}"
    return json_response({"host_token": token, "host_url": url}, 201)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/rooms/{room_id}/host-token",
        renew_host_token,
        "A new host token for the room; earlier host tokens answer 401 from then on",
        who="host, admin",
        responses={201: "{host_token, host_url}", 401: "unauthorized", 403: "forbidden"},
    ),
]
