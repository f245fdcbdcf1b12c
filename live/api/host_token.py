"""POST /api/rooms/{room_id}/host-token: a new host link; every earlier one is retired."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response
from live.api.rooms import room_id_of
from live.auth import Identity, Role, require_manager
from live.authenticator import Authenticator
from live.http_input import RequestReader
from live.rooms.store import RoomStore
from live.security.host_tokens import HostGenerations
from live.settings import Settings


class HostTokenApi:
    def __init__(
        self,
        reader: RequestReader,
        authenticator: Authenticator,
        rooms: RoomStore,
        generations: HostGenerations,
        settings: Settings,
    ) -> None:
        self._reader = reader
        self._auth = authenticator
        self._rooms = rooms
        self._generations = generations
        self._public_url = settings.server.public_url
        self._ttl_s = settings.auth.host_token_ttl_s

    async def renew_host_token(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        room = await self._rooms.get_open(room_id)
        generation = await self._generations.bump(room_id)
        host = Identity(
            Role.HOST, room.host_user_id, room.host_name, room_id=room_id, generation=generation
        )
        token = self._auth.issue(host, self._ttl_s)
        base = self._public_url.rstrip("/") or str(request.base_url).rstrip("/")
        url = f"{base}/studio/{room_id}#token={token}"
        return json_response({"host_token": token, "host_url": url}, 201)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/host-token",
                self.renew_host_token,
                "A new host token for the room; earlier host tokens answer 401 from then on",
                who="host, admin",
                responses={201: "{host_token, host_url}", 401: "unauthorized", 403: "forbidden"},
            ),
        ]
