"""Identities from the shop's own login: JSON Web Tokens (HS256 or RS256), issuer and
audience checked. Pure apart from reading a key file once at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt

from live.auth import Identity, Role
from live.errors import Unauthorized
from live.settings import AuthSettings
from live.text import clean_name

SHOP_USER_PREFIX = "shop:"


class ShopTokenVerifier:
    """Verifies shop JWTs; `None` from `from_settings` when none are configured."""

    def __init__(self, keys: list[tuple[str, Any]], issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer or None
        self._audience = audience or None

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> ShopTokenVerifier | None:
        keys: list[tuple[str, Any]] = []
        if auth.jwt_hs256_secret:
            keys.append(("HS256", auth.jwt_hs256_secret))
        if auth.jwt_rs256_public_key:
            pem = auth.jwt_rs256_public_key
            if not pem.lstrip().startswith("-----BEGIN"):
                pem = Path(pem).read_text()
            keys.append(("RS256", pem))
        return cls(keys, auth.jwt_issuer, auth.jwt_audience) if keys else None

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2

    def verify(self, token: str, *, now: float) -> Identity:
        """The shop account's viewer identity, or `Unauthorized`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid token") from exc
        for algorithm, key in self._keys:
            if header.get("alg") != algorithm:
                continue
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    issuer=self._issuer,
                    audience=self._audience,
                    options={
                        "require": ["sub", "exp"],
                        "verify_aud": self._audience is not None,
                    },
                    leeway=5,
                )
            except jwt.ExpiredSignatureError as exc:
                raise Unauthorized("token expired") from exc
            except jwt.PyJWTError as exc:
                raise Unauthorized("invalid token") from exc
            subject = str(claims["sub"])[:64]
            shown = str(claims.get("name") or claims.get("nickname") or "")
            name = (clean_name(shown) or subject)[:40]
            return Identity(Role.VIEWER, SHOP_USER_PREFIX + subject, name, verified=True)
        raise Unauthorized("invalid token")
