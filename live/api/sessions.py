"""POST /api/sessions: a viewer identity and its signed token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response
from live.auth import Identity, Role, new_id
from live.authenticator import Authenticator
from live.errors import RateLimited
from live.http_input import RequestReader, in_networks
from live.ratelimit import within_limit
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.settings import Settings
from live.validation import expect_object, name_field

NAME_MAX = 40


class SessionsApi:
    def __init__(
        self,
        reader: RequestReader,
        authenticator: Authenticator,
        redis: Redis,
        keys: Keys,
        settings: Settings,
    ) -> None:
        self._reader = reader
        self._auth = authenticator
        self._redis = redis
        self._keys = keys
        self._limits = settings.limits
        self._token_ttl_s = settings.auth.viewer_token_ttl_s

    async def create_session(self, request: Request) -> Response:
        body = expect_object(await self._reader.read_json(request))
        name = name_field(body, "name", max_len=NAME_MAX)
        ip = self._reader.client_ip(request)
        limits = self._limits
        if not in_networks(ip, limits.exempt_networks) and not await within_limit(
            self._redis, self._keys.rate("sessions", ip), limits.sessions_per_ip_per_min, 60
        ):
            raise RateLimited("too many sessions from this address; try again in a minute")
        identity = Identity(role=Role.VIEWER, user_id=new_id("u"), name=name)
        ttl = self._token_ttl_s
        token = self._auth.issue(identity, ttl)
        return json_response({"token": token, "user_id": identity.user_id, "name": name}, 201)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/sessions",
                self.create_session,
                "Create a viewer session and its token",
                body={
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX}
                    },
                },
                responses={201: "the session: token, user_id, name", 429: "rate_limited"},
            ),
        ]
