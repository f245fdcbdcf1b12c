"""Response helpers and the endpoint description shared by the handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import Response

from live.errors import LiveError

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    """One HTTP endpoint: the route and what /openapi.json says about it."""

    method: str
    path: str
    handler: Handler
    summary: str
    who: str = "anyone"
    body: dict[str, Any] | None = None
    responses: dict[int, str] = field(default_factory=dict)
    query: Sequence[str] = ()
    content_type: str = "application/json"


class HandlerGroup(Protocol):
    """A handler class: built with its collaborators, it lists its endpoints."""

    def endpoints(self) -> list[Endpoint]: ...


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(error: LiveError) -> Response:
    return JSONResponse(error.to_body(), status_code=error.status)


def path_param(request: Request, name: str) -> str:
    value: str = request.path_params[name]
    return value
