"""Rooms: create, list, read, end; and each room's product line-up."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from live.api.bagstore import bag_of, with_availability
from live.api.catalog import parse_sku
from live.api.http import Endpoint, identity_of, json_response, path_param, read_json, services
from live.auth import Identity, Role, new_id, require_admin, require_manager
from live.errors import BadRequest, Conflict, NotFound
from live.rooms.model import Room
from live.services import Services
from live.validation import expect_object, query_limit, text_field

ROOM_ID_MAX = 40


def room_id_of(request: Request) -> str:
    room_id = path_param(request, "room_id")
    if len(room_id) > ROOM_ID_MAX:
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


def public_url(svc: Services, request: Request) -> str:
    configured = svc.settings.server.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


async def create_room(request: Request) -> Response:
    svc = services(request)
    require_admin(identity_of(request))
    body = expect_object(await read_json(request))
    title = text_field(body, "title", max_len=svc.settings.rooms.max_title_len)
    host_name = text_field(body, "host_name", max_len=40)
    host_id = parse_host_id(body)
    room = Room(
        room_id=new_id("r"),
        title=title,
        host_name=host_name,
        host_user_id=new_id("h"),
        status="open",
        live=False,
        created_at=svc.now_ms(),
        host_id=host_id,
    )
    room = await svc.rooms.create(room)
    host = Identity(Role.HOST, room.host_user_id, host_name, room_id=room.room_id)
    token = svc.signer.issue(host, ttl_s=svc.settings.auth.host_token_ttl_s, now=svc.now())
    base = public_url(svc, request)
    answer = {
        **room.to_public(),
        "host_token": token,
        "host_url": f"{base}/studio/{room.room_id}#token={token}",
        "viewer_url": f"{base}/r/{room.room_id}",
    }
    return json_response(answer, 201)


async def list_rooms(request: Request) -> Response:
    svc = services(request)
    limit = query_limit(request.query_params.get("limit"))
    raw_cursor = request.query_params.get("cursor") or None
    if raw_cursor is not None and not raw_cursor.isdigit():
        raise BadRequest("`cursor` is not one this server gave", field="cursor")
    rooms, next_cursor = await svc.rooms.page(limit, int(raw_cursor) if raw_cursor else None)
    counts = await svc.viewer_counts([r.room_id for r in rooms])
    return json_response(
        {
            "rooms": [r.to_public(n) for r, n in zip(rooms, counts, strict=True)],
            "next": str(next_cursor) if next_cursor is not None else None,
        }
    )


async def get_room(request: Request) -> Response:
    svc = services(request)
    room = await svc.rooms.get(room_id_of(request))
    (count,) = await svc.viewer_counts([room.room_id])
    return json_response(room.to_public(count))


async def end_room(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    require_manager(identity_of(request), room_id)
    room, ended_now = await svc.rooms.end(room_id, svc.now_ms())
    if ended_now:
        for listener in svc.room_ended_listeners:
            await listener(room_id)
    return json_response(room.to_public())


async def lineup_answer(request: Request, room_id: str, skus: list[str]) -> dict[str, object]:
    products = await services(request).catalog.many(skus)
    return {"room_id": room_id, "products": await with_availability(bag_of(request), products)}


async def add_to_lineup(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    require_manager(identity_of(request), room_id)
    body = expect_object(await read_json(request))
    sku = parse_sku(text_field(body, "sku", max_len=64))
    await svc.rooms.get_open(room_id)
    await svc.catalog.get(sku)
    if (
        not await svc.rooms.in_lineup(room_id, sku)
        and await svc.rooms.lineup_size(room_id) >= svc.settings.rooms.max_lineup
    ):
        raise Conflict("the room's line-up is full", code="lineup_full")
    skus = await svc.rooms.add_to_lineup(room_id, sku, svc.now_ms())
    await bag_of(request).on_lineup(room_id, sku, svc.now_ms())
    return json_response(await lineup_answer(request, room_id, skus), 201)


async def get_lineup(request: Request) -> Response:
    svc = services(request)
    room_id = room_id_of(request)
    await svc.rooms.get(room_id)
    return json_response(await lineup_answer(request, room_id, await svc.rooms.lineup(room_id)))


ROOM_RESPONSES = {200: "the room", 404: "not_found"}

ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/rooms",
        create_room,
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
        list_rooms,
        "Open rooms, live ones first",
        query=("limit", "cursor"),
        responses={200: "{rooms, next}"},
    ),
    Endpoint("GET", "/api/rooms/{room_id}", get_room, "One room", responses=ROOM_RESPONSES),
    Endpoint(
        "POST",
        "/api/rooms/{room_id}/end",
        end_room,
        "End the room",
        who="host, admin",
        responses=ROOM_RESPONSES,
    ),
    Endpoint(
        "POST",
        "/api/rooms/{room_id}/products",
        add_to_lineup,
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
        get_lineup,
        "The room's line-up",
        responses={200: "the line-up", 404: "not_found"},
    ),
]
