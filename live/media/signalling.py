"""PURE: ICE servers from settings, as `Link` headers (RFC 9725) and as page config.

TURN credentials are either static (`turn_username`/`turn_credential`) or, when
`turn_secret` is set, time-limited by the TURN REST scheme that coturn's
`use-auth-secret` checks: username `<expiry unix time>:<user>`, credential
base64(HMAC-SHA1(secret, username)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from live.settings import MediaSettings


def turn_rest_credentials(secret: str, user: str, now: float, ttl_s: int) -> tuple[str, str]:
    """(username, credential) valid until `now + ttl_s` for a TURN server sharing `secret`."""
    username = f"{int(now) + ttl_s}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(media: MediaSettings, now: float = 0.0, user: str = "live") -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for RTCPeerConnection (TURN ones carry credentials).

    `now` (unix seconds) and `user` only matter for time-limited TURN credentials.
    """
    credentials: tuple[str, str] | None = None
    if media.turn_secret:
        credentials = turn_rest_credentials(media.turn_secret, user, now, media.turn_ttl_s)
    elif media.turn_username:
        credentials = media.turn_username, media.turn_credential
    servers: list[dict[str, Any]] = []
    for url in media.ice_servers:
        server: dict[str, Any] = {"urls": [url]}
        if url.startswith(("turn:", "turns:")) and credentials is not None:
            server["username"], server["credential"] = credentials
        servers.append(server)
    return servers


def link_headers(media: MediaSettings, now: float = 0.0, user: str = "live") -> list[str]:
    """One `Link: <url>; rel="ice-server"` value per ICE server (RFC 9725 section 4.6)."""
    values = []
    for server in ice_servers(media, now, user):
        value = f'<{server["urls"][0]}>; rel="ice-server"'
        if "username" in server:
            value += (
                f'; username="{_quoted(server["username"])}"'
                f'; credential="{_quoted(server["credential"])}"; credential-type="password"'
            )
        values.append(value)
    return values


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
