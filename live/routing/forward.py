"""Reaching a sibling process's private listener (live.routing.listener) with httpx.

A forwarded request carries only what the owner needs: the body, its content type and the
workers' secret; never the client's headers (an attacker's padded X-Forwarded-For or
Authorization must not make the forward fail, see docs/architecture.md, "Media routing").
"""

from __future__ import annotations

import httpx

from live.routing.listener import SECRET_HEADER

TIMEOUT_S = 15.0


class OwnerUnreachable(Exception):
    """The owner's listener did not answer (down, refusing, or too slow)."""


class Forwarder:
    def __init__(self, secret: str, timeout_s: float = TIMEOUT_S) -> None:
        self.secret = secret
        # One pooled client per process; it connects on first use.
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    async def send(
        self,
        address: str,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request to `address` (`http://127.0.0.1:<port>`), or `OwnerUnreachable`."""
        sent = {**(headers or {}), SECRET_HEADER: self.secret}
        try:
            return await self._client.request(method, address + path, content=body, headers=sent)
        except httpx.HTTPError as exc:
            raise OwnerUnreachable(f"{address}: {exc!r}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()
