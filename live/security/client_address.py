"""The client's real address, read in one place for every limit that counts addresses.

Behind `[server] trusted_proxies` it is the forwarded address; on a request one of our own
workers forwarded to another (the internal listener, reachable only with the workers'
secret) it is the address the first worker saw, carried in `CLIENT_HEADER`, never the
loopback address of the forwarding worker.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from live.api.http import client_address as address_from_headers
from live.settings import Settings

# Set by our forwarding worker only (live.media.routing forward); the internal listener
# drops requests without the workers' secret, so a client cannot set it.
CLIENT_HEADER = "x-live-client-address"


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The address limits count this request under."""
    if getattr(conn.app.state, "media_internal", False):
        carried = conn.headers.get(CLIENT_HEADER)
        if carried:
            return carried
    peer = conn.client.host if conn.client else "0.0.0.0"
    trusted = settings.server.trusted_proxies
    return address_from_headers(peer, conn.headers.get("x-forwarded-for"), trusted)
