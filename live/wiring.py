"""What a full server runs beyond the HTTP API: the room channel, sales and media.
Each layer adds its components (background tasks) and routes (websockets) here."""

from __future__ import annotations

from starlette.routing import BaseRoute

from live.app import Component
from live.media.component import media_component


def default_components() -> list[Component]:
    return [media_component]


def default_routes() -> list[BaseRoute]:
    return []
