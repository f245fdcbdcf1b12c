"""431 for a request head over `[server] max_header_bytes`, before anything else runs.

uvicorn's httptools parser has no configurable limit of its own (h11's is set from the
same setting in live.uvicorn_options); this check sees what the parser handed over, so
an oversized head never reaches routing, authentication or media forwarding.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

BODY = b'{"error":{"code":"headers_too_large","message":"the request headers are too large"}}'


class HeaderLimit:
    """ASGI middleware: HTTP requests and websocket upgrades with a larger head are refused."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self._too_large(scope):
            await _refuse(scope, send)
            return
        await self.app(scope, receive, send)

    def _too_large(self, scope: Scope) -> bool:
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        for name, value in scope.get("headers", ()):
            size += len(name) + len(value) + 4  # ": " and CRLF
            if size > self.max_bytes:
                return True
        return False


async def _refuse(scope: Scope, send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(BODY)).encode()))
    if scope["type"] == "websocket":
        # The denial-response extension carries an HTTP answer; without it, a close.
        if "websocket.http.response" in scope.get("extensions", {}):
            await send({"type": "websocket.http.response.start", "status": 431, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": BODY})
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})
