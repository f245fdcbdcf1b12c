"""What a full server runs beyond the HTTP API: the room channel, sales and media.
Each layer adds its components (background tasks) and routes (websockets) here."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from live.app import Component
from live.commerce.shopworker import shop_component
from live.commerce.worker import sales_component
from live.media.component import media_component
from live.realtime.component import room_channel_component
from live.realtime.endpoint import RoomChannel


def default_components() -> list[Component]:
    return [room_channel_component, sales_component, shop_component, media_component]


def default_routes() -> list[BaseRoute]:
    return [WebSocketRoute("/ws/rooms/{room_id}", RoomChannel())]
