"""Reading what a request brings: its JSON body, its caller's identity and address.

Shared by the HTTP handlers, the buy fast path and the room channel; built once by the
assembly (live/app.py) with the settings and the authenticator it needs.
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request

from live.auth import Identity
from live.authenticator import Authenticator
from live.errors import BadRequest, PayloadTooLarge, Unauthorized
from live.settings import ServerSettings


class RequestReader:
    """Body, identity and client address of a request, under `[server]` settings."""

    def __init__(self, server: ServerSettings, authenticator: Authenticator) -> None:
        self.max_body_bytes = server.max_body_bytes
        self.trusted_proxies = server.trusted_proxies
        self.authenticator = authenticator

    async def read_json(self, request: Request) -> Any:
        """The decoded JSON body, or 400/413 with a clear message."""
        limit = self.max_body_bytes
        check_declared_length(request.headers.get("content-length"), limit)
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body must be at most {limit} bytes")
            chunks.append(chunk)
        return decode_json(b"".join(chunks))

    def identity(self, conn: HTTPConnection, *, allow_query: bool = False) -> Identity | None:
        """The caller's identity from its bearer token (or `?token=` on websockets), or None."""
        token = bearer_of(conn.headers.get("authorization"))
        if token is None and allow_query:
            token = conn.query_params.get("token") or None
        if token is None:
            return None
        return self.authenticator.verify(token)

    def client_ip(self, conn: HTTPConnection) -> str:
        """The client's address; X-Forwarded-For counts only from `[server] trusted_proxies`."""
        peer = conn.client.host if conn.client else "0.0.0.0"
        return client_address(peer, conn.headers.get("x-forwarded-for"), self.trusted_proxies)


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


def bearer_of(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None without one), or 401."""
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        return token.strip()
    return None


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


def client_address(peer: str, forwarded: str | None, trusted: tuple[str, ...]) -> str:
    """The client's address from the peer's and its X-Forwarded-For (see `client_ip`)."""
    if forwarded and trusted and in_networks(peer, trusted):
        # Walk from the nearest hop; the first untrusted address is the client.
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not in_networks(hop, trusted):
                return hop
    return peer
