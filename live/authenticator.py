"""Who a bearer token names: our own signed tokens, the admin token, or a shop JWT."""

from __future__ import annotations

from live.auth import Identity, TokenSigner
from live.clock import Clock
from live.shop_jwt import ShopTokenVerifier


class Authenticator:
    """Verifies tokens; 401 (`Unauthorized`) for bad or expired ones."""

    def __init__(
        self, signer: TokenSigner, shop_tokens: ShopTokenVerifier | None, clock: Clock
    ) -> None:
        self.signer = signer
        self._shop_tokens = shop_tokens
        self._clock = clock

    def verify(self, token: str) -> Identity:
        """Our own signed tokens, the admin token, or (when configured) a shop JWT."""
        if self._shop_tokens is not None and ShopTokenVerifier.looks_like_jwt(token):
            return self._shop_tokens.verify(token, now=self._clock.now())
        return self.signer.verify(token, now=self._clock.now())

    def issue(self, identity: Identity, ttl_s: int) -> str:
        """A signed token for `identity`, valid for `ttl_s` seconds from now."""
        return self.signer.issue(identity, ttl_s=ttl_s, now=self._clock.now())
