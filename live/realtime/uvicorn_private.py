"""Every use of uvicorn's private attributes, in one place (built for uvicorn==0.54.0).

- `direct_writer` / `DirectWriter`: a ready-made text frame written straight to the
  transport of uvicorn's websockets-sansio protocol, whenever that protocol's own `send`
  would write at once (nothing paused or closing); otherwise the ASGI `send` is used.
`check()` runs at start-up: a missing attribute stops the server with one line.
"""

from __future__ import annotations

from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState

from live.private_attrs import in_fresh_loop, require

LIBRARY = "uvicorn"
BUILT_FOR = "0.54.0"
# Read on the protocol before each direct write; `receive` is the bound method the
# protocol hands the app, through which the protocol is found.
PROTOCOL_ATTRIBUTES = (
    "handshake_complete",
    "close_sent",
    "disconnected",
    "initial_response",
    "writable",
    "transport",
    "receive",
)


class DirectWriter:
    """Writes ready-made frames to the transport of uvicorn's websockets-sansio protocol,
    but only when its own `send` would write at once (nothing paused or closing)."""

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, wire: bytes) -> bool:
        """True when written; False: use the ASGI `send` instead."""
        p = self._protocol
        if (
            not p.handshake_complete
            or p.close_sent
            or p.disconnected
            or p.initial_response is not None
            or not p.writable.is_set()
        ):
            return False
        transport = p.transport
        if transport.is_closing():
            return False
        transport.write(wire)
        return True


def direct_writer(receive: Any) -> DirectWriter | None:
    """A `DirectWriter` when `receive` is uvicorn's websockets-sansio protocol's own (the
    server whose framing we know); None under any other server or protocol."""
    protocol = getattr(receive, "__self__", None)
    if type(protocol) is not WebSocketsSansIOProtocol:
        return None
    return DirectWriter(protocol)


def check() -> None:
    """Every attribute `DirectWriter` reads, on a real (unconnected) protocol object."""
    protocol = in_fresh_loop(_new_protocol)
    require(LIBRARY, BUILT_FOR, protocol, "WebSocketsSansIOProtocol", PROTOCOL_ATTRIBUTES)
    require(LIBRARY, BUILT_FOR, protocol.writable, "WebSocketsSansIOProtocol.writable", ("is_set",))


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Never called: the protocol object is only inspected."""


async def _new_protocol() -> WebSocketsSansIOProtocol:
    config = Config(_app, ws="websockets-sansio", lifespan="off", log_config=None)
    config.load()
    return WebSocketsSansIOProtocol(config, ServerState(), {})
