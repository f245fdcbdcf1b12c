"""The uvicorn options that come from our settings (`live serve` and the test servers
pass the same ones): HTTP keep-alive, frame size, websocket pings, the header limit."""

from __future__ import annotations

from typing import Any

from live.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config`."""
    realtime = settings.realtime
    return {
        # The server must keep an idle connection open longer than the client or load
        # balancer in front of it does; with equal timeouts (uvicorn's and httpx's 5 s) a
        # request sent as the server closes the connection fails with a reset.
        "timeout_keep_alive": settings.server.keep_alive_s,
        "ws_max_size": realtime.max_frame_bytes,
        # A client that stops reading (or vanishes without a FIN) never answers a ping: its
        # connection, and its slot of [limits] connections_per_ip, go after the timeout.
        "ws_ping_interval": realtime.ping_s,
        "ws_ping_timeout": realtime.ping_timeout_s,
        # h11 only (httptools has its own fixed limit); live.security.header_limit answers
        # 431 past [server] max_header_bytes whichever parser runs.
        "h11_max_incomplete_event_size": settings.server.max_header_bytes + 4096,
    }
