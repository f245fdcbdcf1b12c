"""Signed, expiring tokens and roles. Pure: no I/O.

A token is `base64url(json claims) "." base64url(hmac-sha256)`. The admin's token is the
`LIVE_ADMIN_TOKEN` value itself, compared in constant time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson

from live.errors import Forbidden, Unauthorized


class Role(StrEnum):
    ADMIN = "admin"
    HOST = "host"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Identity:
    """Who is calling. `room_id` is set for hosts: the one room they may run."""

    role: Role
    user_id: str
    name: str
    room_id: str | None = None
    # True for accounts the shop vouches for (its own JWTs); anonymous sessions are not.
    verified: bool = False
    # Host tokens: the room's host-token generation they were issued in; a newer one
    # (POST /api/rooms/{room_id}/host-token) retires them (live.security.host_tokens).
    generation: int = 0

    def may_manage(self, room_id: str) -> bool:
        """True for the admin and for the host of this room."""
        return self.role is Role.ADMIN or (self.role is Role.HOST and self.room_id == room_id)


ADMIN_IDENTITY = Identity(role=Role.ADMIN, user_id="admin", name="admin")


class TokenSigner:
    """Issues tokens with one secret; verifies them with it or any of `previous` (rotation).
    The secret is random (live.security.signing), never derived from the admin token: a
    viewer token must not let anyone test guesses of the admin token offline."""

    CACHE_SIZE = 10_000

    def __init__(
        self, secret: bytes, admin_token: str | None, previous: Sequence[bytes] = ()
    ) -> None:
        self._secret = secret
        self._previous = tuple(previous)
        self._admin_token = admin_token.encode() if admin_token else None
        # Tokens already verified, with their expiry: a buyer sends the same token with every
        # request, and checking its signature again costs more than the rest of a buy's
        # checks. Refused tokens raise, so they are never remembered.
        self._claims = functools.lru_cache(maxsize=self.CACHE_SIZE)(self._read)

    def use_secrets(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        """Sign with `secret` from now on and verify with it or `previous`: the secret kept
        in Redis replaces the process's provisional one before the app serves (live.app's
        lifespan, live.security.signing)."""
        self._secret = secret
        self._previous = tuple(previous)
        self._claims.cache_clear()

    def issue(self, identity: Identity, *, ttl_s: int, now: float) -> str:
        """A token for `identity` valid for `ttl_s` seconds from `now`."""
        claims: dict[str, str | int] = {
            "r": identity.role.value,
            "u": identity.user_id,
            "n": identity.name,
        }
        if identity.room_id is not None:
            claims["room"] = identity.room_id
        if identity.generation:
            claims["g"] = identity.generation
        claims["exp"] = int(now) + ttl_s
        body = _b64(orjson.dumps(claims))
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, *, now: float) -> Identity:
        """The identity in `token`, or `Unauthorized` if it is forged, garbled or expired."""
        if self._admin_token is not None and hmac.compare_digest(
            token.encode(errors="replace"), self._admin_token
        ):
            return ADMIN_IDENTITY
        identity, expires = self._claims(token)
        if expires <= now:
            raise Unauthorized("token expired")
        return identity

    def _read(self, token: str) -> tuple[Identity, int]:
        """The identity in a signed token and its expiry, or `Unauthorized` (forged, garbled)."""
        body, _, signature = token.partition(".")
        if not body or not self._signed_by_us(body, signature.encode()):
            raise Unauthorized("invalid token")
        try:
            claims = orjson.loads(_unb64(body))
            role = Role(claims["r"])
            expires = int(claims["exp"])
            identity = Identity(
                role,
                str(claims["u"]),
                str(claims["n"]),
                claims.get("room"),
                generation=int(claims.get("g", 0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise Unauthorized("invalid token") from exc
        if role is Role.ADMIN:
            raise Unauthorized("invalid token")
        return identity, expires

    def _signed_by_us(self, body: str, signature: bytes) -> bool:
        if hmac.compare_digest(signature, self._sign(body).encode()):
            return True
        return any(
            hmac.compare_digest(signature, self._sign(body, old).encode()) for old in self._previous
        )

    def _sign(self, body: str, secret: bytes | None = None) -> str:
        key = self._secret if secret is None else secret
        return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def require_manager(identity: Identity | None, room_id: str) -> Identity:
    """The identity if it may manage `room_id` (its host or the admin), else 401/403."""
    if identity is None:
        raise Unauthorized("a host or admin token is required")
    if not identity.may_manage(room_id):
        raise Forbidden("only this room's host or an admin may do this")
    return identity


def require_admin(identity: Identity | None) -> Identity:
    if identity is None:
        raise Unauthorized("the admin token is required")
    if identity.role is not Role.ADMIN:
        raise Forbidden("only an admin may do this")
    return identity


def require_user(identity: Identity | None) -> Identity:
    if identity is None:
        raise Unauthorized("a token is required: create a session with POST /api/sessions")
    return identity


def require_buyer(identity: Identity | None, *, anonymous_can_buy: bool) -> Identity:
    """A viewer who may buy: with `anonymous_can_buy` off, only shop accounts may."""
    identity = require_user(identity)
    if identity.role is not Role.VIEWER:
        raise Forbidden("only viewers buy; sign in as a viewer")
    if not anonymous_can_buy and not identity.verified:
        raise Forbidden("sign in with your shop account to buy", code="login_required")
    return identity


def new_id(prefix: str) -> str:
    """A short random id such as `r_3k9x...`: unguessable, URL-safe."""
    return f"{prefix}_{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
