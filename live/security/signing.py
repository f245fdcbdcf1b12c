"""The token signing secret: `[auth] secret`, else one random secret made at first start
and kept in Redis (SET NX: every worker and node agrees on the first one written)."""

from __future__ import annotations

import secrets

from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.settings import AuthSettings


async def signing_secrets(redis: Redis, keys: Keys, auth: AuthSettings) -> list[bytes]:
    """The current signing secret first, then `[auth] previous_secrets` (still verified)."""
    previous = [s.encode() for s in auth.previous_secrets if s]
    if auth.secret:
        return [auth.secret.encode(), *previous]
    key = keys.signing_secret()
    candidate = secrets.token_urlsafe(48)
    # One round trip: NX keeps the first secret ever written, GET answers it (None: ours).
    stored = await redis.set(key, candidate, nx=True, get=True)
    current = candidate.encode() if stored is None else _as_bytes(stored)
    return [current, *previous]


def _as_bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
