"""Request and response helpers shared by the handlers."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from live.auth import Identity
from live.errors import BadRequest, LiveError, PayloadTooLarge, Unauthorized
from live.services import Services

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


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(data, status_code=status, headers=headers)


def error_response(error: LiveError) -> Response:
    return JSONResponse(error.to_body(), status_code=error.status)


def services(conn: HTTPConnection) -> Services:
    svc: Services = conn.app.state.services
    return svc


async def read_json(request: Request) -> Any:
    """The decoded JSON body, or 400/413 with a clear message."""
    limit = services(request).settings.server.max_body_bytes
    check_declared_length(request.headers.get("content-length"), limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body must be at most {limit} bytes")
        chunks.append(chunk)
    return decode_json(b"".join(chunks))


def check_declared_length(declared: str | None, limit: int) -> None:
    """413 before reading when `Content-Length` already says the body is too large."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body must be at most {limit} bytes")


def decode_json(raw: bytes) -> Any:
    if not raw:
        raise BadRequest("the body must be JSON; it is empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc.msg}") from exc


def bearer_token(conn: HTTPConnection) -> str | None:
    return bearer_of(conn.headers.get("authorization"))


def bearer_of(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None without one), or 401."""
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        return token.strip()
    return None


def identity_of(conn: HTTPConnection, *, allow_query: bool = False) -> Identity | None:
    """The caller's identity from its bearer token (or `?token=` on websockets), or None."""
    token = bearer_token(conn)
    if token is None and allow_query:
        token = conn.query_params.get("token") or None
    if token is None:
        return None
    return services(conn).verify_token(token)


@cache
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


@lru_cache(maxsize=4096)
def in_networks(address: str, cidrs: tuple[str, ...]) -> bool:
    # Cached: every buy asks whether its address is exempt, and parsing one costs.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _networks(cidrs))


def client_ip(conn: HTTPConnection) -> str:
    """The client's address; X-Forwarded-For counts only from `[server] trusted_proxies`."""
    peer = conn.client.host if conn.client else "0.0.0.0"
    trusted = services(conn).settings.server.trusted_proxies
    return client_address(peer, conn.headers.get("x-forwarded-for"), trusted)


def client_address(peer: str, forwarded: str | None, trusted: tuple[str, ...]) -> str:
    """The client's address from the peer's and its X-Forwarded-For (see `client_ip`)."""
    if forwarded and trusted and in_networks(peer, trusted):
        # Walk from the nearest hop; the first untrusted address is the client.
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not in_networks(hop, trusted):
                return hop
    return peer


def path_param(request: Request, name: str) -> str:
    value: str = request.path_params[name]
    return value
