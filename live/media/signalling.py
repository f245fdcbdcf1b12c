"""PURE: ICE servers from settings, as `Link` headers (RFC 9725) and as page config."""

from __future__ import annotations

from typing import Any

from live.settings import MediaSettings


def ice_servers(media: MediaSettings) -> list[dict[str, Any]]:
    """RTCIceServer dictionaries for RTCPeerConnection (TURN ones carry credentials)."""
    servers: list[dict[str, Any]] = []
    for url in media.ice_servers:
        server: dict[str, Any] = {"urls": [url]}
        if url.startswith(("turn:", "turns:")) and media.turn_username:
            server["username"] = media.turn_username
            server["credential"] = media.turn_credential
        servers.append(server)
    return servers


def link_headers(media: MediaSettings) -> list[str]:
    """One `Link: <url>; rel="ice-server"` value per ICE server (RFC 9725 section 4.6)."""
    values = []
    for server in ice_servers(media):
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
