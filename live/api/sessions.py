"""POST /api/sessions: a viewer identity and its signed token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, client_ip, in_networks, json_response, read_json, services
from live.auth import Identity, Role, new_id
from live.errors import RateLimited
from live.ratelimit import within_limit
from live.validation import expect_object, text_field

NAME_MAX = 40


async def create_session(request: Request) -> Response:
    svc = services(request)
    body = expect_object(await read_json(request))
    name = text_field(body, "name", max_len=NAME_MAX)
    ip = client_ip(request)
    limits = svc.settings.limits
    if not in_networks(ip, limits.exempt_networks) and not await within_limit(
        svc.redis, svc.keys.rate("sessions", ip), limits.sessions_per_ip_per_min, 60
    ):
        raise RateLimited("too many sessions from this address; try again in a minute")
    identity = Identity(role=Role.VIEWER, user_id=new_id("u"), name=name)
    ttl = svc.settings.auth.viewer_token_ttl_s
    token = svc.signer.issue(identity, ttl_s=ttl, now=svc.now())
    return json_response({"token": token, "user_id": identity.user_id, "name": name}, 201)


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/sessions",
        create_session,
        "Create a viewer session and its token",
        body={
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX}},
        },
        responses={201: "the session: token, user_id, name", 429: "rate_limited"},
    ),
]
