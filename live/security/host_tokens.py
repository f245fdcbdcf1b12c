"""Revocable host tokens. Each room has a host-token generation in its record (`host_gen`,
absent means 0); a host token carries the generation it was issued in, and one older than
the room's is refused with 401. The generation is read once per room and process every
`CACHE_S` seconds, so the check costs no round trip on the hot paths; a retired token
keeps working at most that long on a process that read the old value just before.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from live.auth import Identity, Role
from live.authenticator import Authenticator
from live.errors import LiveError, Unauthorized
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.keys import Keys

CACHE_S = 2.0
FIELD = "host_gen"


class HostGenerations:
    """The rooms' host-token generations, cached briefly per process."""

    def __init__(self, redis: Redis, keys: Keys, clock: Callable[[], float] = time.monotonic):
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._cache: dict[str, tuple[int, float]] = {}

    async def current(self, room_id: str) -> int:
        cached = self._cache.get(room_id)
        now = self._clock()
        if cached is not None and now - cached[1] < CACHE_S:
            return cached[0]
        value = await self._redis.hget(self._keys.room(room_id), FIELD)
        generation = int(value) if value else 0
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[room_id] = (generation, now)
        return generation

    async def bump(self, room_id: str) -> int:
        """A new generation for the room: every earlier host token is retired."""
        generation = int(await self._redis.hincrby(self._keys.room(room_id), FIELD, 1))
        self._cache[room_id] = (generation, self._clock())
        return generation

    async def is_retired(self, identity: Identity) -> bool:
        if identity.role is not Role.HOST or identity.room_id is None:
            return False
        return identity.generation < await self.current(identity.room_id)


class HostTokenGuard:
    """ASGI middleware: a retired host token answers 401 (HTTP) or closes 4001 (websocket)
    before any handler sees it."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, generations: HostGenerations
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.generations = generations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and await self._retired(scope):
            if scope["type"] == "websocket":
                # Accepted, then closed with the contract's 4001 (a refused handshake would
                # only tell the client 403).
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4001})
            else:
                error = Unauthorized("this host link was replaced; ask for the new one")
                await JSONResponse(error.to_body(), error.status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _retired(self, scope: Scope) -> bool:
        conn = HTTPConnection(scope)
        header = conn.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not token and scope["type"] == "websocket":
            token = conn.query_params.get("token", "")
        if not token or "." not in token:
            return False
        try:
            identity = self.authenticator.verify(token)
        except LiveError:
            return False  # the handler answers it
        if identity.role is not Role.HOST:
            return False
        try:
            return await self.generations.is_retired(identity)
        except (RedisError, OSError):
            return False  # the handler meets Redis trouble itself and answers 503
