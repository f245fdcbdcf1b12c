"""Rooms: create, list, read, end; and each room's product line-up."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response

from live.api.bagstore import with_availability
from live.api.catalog import parse_sku
from live.api.http import Endpoint, json_response, path_param
from live.auth import Identity, Role, new_id, require_admin, require_manager
from live.authenticator import Authenticator
from live.clock import Clock
from live.commerce.bag import BagStore
from live.commerce.catalog import Catalog
from live.errors import BadRequest, NotFound
from live.http_input import RequestReader
from live.rooms.events import RoomEndedListener
from live.rooms.model import ROOM_ID_RE, Room
from live.rooms.store import RoomStore
from live.settings import Settings
from live.validation import expect_object, name_field, query_limit, text_field

# Viewer totals of several rooms (the room channel's presence count).
ViewerCounts = Callable[[list[str]], Awaitable[list[int]]]


def room_id_of(request: Request) -> str:
    room_id = path_param(request, "room_id")
    if not ROOM_ID_RE.match(room_id):
        raise NotFound("room not found")
    return room_id


HOST_ID_RE = re.compile(r"^[a-z0-9_-]{1,40}$")


def parse_host_id(body: dict[str, object]) -> str:
    """`host_id`: the same for every show of one host, so their figures add up; a new id
    when none is given."""
    value = body.get("host_id")
    if value is None:
        return new_id("host").lower().replace(".", "-")[:40]
    if not isinstance(value, str) or not HOST_ID_RE.match(value):
        raise BadRequest("`host_id` must match [a-z0-9_-]{1,40}", field="host_id")
    return value


async def lineup_answer(
    catalog: Catalog, bag: BagStore, room_id: str, skus: list[str]
) -> dict[str, object]:
    products = await catalog.many(skus)
    return {"room_id": room_id, "products": await with_availability(bag, products)}


class RoomsApi:
    """The room endpoints, with the stores and settings they use."""

    def __init__(
        self,
        reader: RequestReader,
        authenticator: Authenticator,
        rooms: RoomStore,
        catalog: Catalog,
        bag: BagStore,
        settings: Settings,
        clock: Clock,
        viewer_counts: ViewerCounts,
        on_room_ended: Sequence[RoomEndedListener] = (),
    ) -> None:
        self._reader = reader
        self._auth = authenticator
        self._rooms = rooms
        self._catalog = catalog
        self._bag = bag
        self._settings = settings
        self._clock = clock
        self._viewer_counts = viewer_counts
        self._on_room_ended = tuple(on_room_ended)

    def _public_url(self, request: Request) -> str:
        configured = self._settings.server.public_url
        return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")

    async def create_room(self, request: Request) -> Response:
        require_admin(self._reader.identity(request))
        body = expect_object(await self._reader.read_json(request))
        title = text_field(body, "title", max_len=self._settings.rooms.max_title_len)
        host_name = name_field(body, "host_name", max_len=40)
        host_id = parse_host_id(body)
        room = Room(
            room_id=new_id("r"),
            title=title,
            host_name=host_name,
            host_user_id=new_id("h"),
            status="open",
            live=False,
            created_at=self._clock.now_ms(),
            host_id=host_id,
        )
        room = await self._rooms.create(room)
        host = Identity(Role.HOST, room.host_user_id, host_name, room_id=room.room_id)
        token = self._auth.issue(host, self._settings.auth.host_token_ttl_s)
        base = self._public_url(request)
        answer = {
            **room.to_public(),
            "host_token": token,
            "host_url": f"{base}/studio/{room.room_id}#token={token}",
            "viewer_url": f"{base}/r/{room.room_id}",
        }
        return json_response(answer, 201)

    async def list_rooms(self, request: Request) -> Response:
        limit = query_limit(request.query_params.get("limit"))
        raw_cursor = request.query_params.get("cursor") or None
        if raw_cursor is not None and not raw_cursor.isdigit():
            raise BadRequest("`cursor` is not one this server gave", field="cursor")
        rooms, next_cursor = await self._rooms.page(limit, int(raw_cursor) if raw_cursor else None)
        counts = await self._viewer_counts([r.room_id for r in rooms])
        return json_response(
            {
                "rooms": [r.to_public(n) for r, n in zip(rooms, counts, strict=True)],
                "next": str(next_cursor) if next_cursor is not None else None,
            }
        )

    async def get_room(self, request: Request) -> Response:
        room = await self._rooms.get(room_id_of(request))
        (count,) = await self._viewer_counts([room.room_id])
        return json_response(room.to_public(count))

    async def end_room(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        room, ended_now = await self._rooms.end(room_id, self._clock.now_ms())
        if ended_now:
            for listener in self._on_room_ended:
                await listener(room_id)
        return json_response(room.to_public())

    async def add_to_lineup(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        body = expect_object(await self._reader.read_json(request))
        sku = parse_sku(text_field(body, "sku", max_len=64))
        await self._rooms.get_open(room_id)
        product = await self._catalog.get(sku)
        now_ms = self._clock.now_ms()
        skus = await self._rooms.add_to_lineup(room_id, sku, now_ms, orjson.dumps(product))
        await self._bag.on_lineup(room_id, sku, now_ms)
        return json_response(await lineup_answer(self._catalog, self._bag, room_id, skus), 201)

    async def get_lineup(self, request: Request) -> Response:
        room_id = room_id_of(request)
        await self._rooms.get(room_id)
        skus = await self._rooms.lineup(room_id)
        return json_response(await lineup_answer(self._catalog, self._bag, room_id, skus))

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/rooms",
                self.create_room,
                "Create a room and its host token",
                who="admin",
                body={
                    "type": "object",
                    "required": ["title", "host_name"],
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 120},
                        "host_name": {"type": "string", "minLength": 1, "maxLength": 40},
                        "host_id": {"type": "string", "pattern": "^[a-z0-9_-]{1,40}$"},
                    },
                },
                responses={201: "room_id, host_token, host_url, viewer_url"},
            ),
            Endpoint(
                "GET",
                "/api/rooms",
                self.list_rooms,
                "Open rooms, live ones first",
                query=("limit", "cursor"),
                responses={200: "{rooms, next}"},
            ),
            Endpoint(
                "GET", "/api/rooms/{room_id}", self.get_room, "One room", responses=ROOM_RESPONSES
            ),
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/end",
                self.end_room,
                "End the room",
                who="host, admin",
                responses=ROOM_RESPONSES,
            ),
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/products",
                self.add_to_lineup,
                "Add a product to the room's line-up",
                who="host, admin",
                body={
                    "type": "object",
                    "required": ["sku"],
                    "properties": {"sku": {"type": "string"}},
                },
                responses={201: "the line-up", 404: "not_found", 409: "room_ended, lineup_full"},
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/products",
                self.get_lineup,
                "The room's line-up",
                responses={200: "the line-up", 404: "not_found"},
            ),
        ]


ROOM_RESPONSES = {200: "the room", 404: "not_found"}
