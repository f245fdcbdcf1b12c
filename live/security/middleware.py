"""ASGI middleware adding live.security.page_headers to every HTTP response."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live.security.page_headers import page_headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp, embed_origins: Sequence[str]) -> None:
        self.app = app
        self.embed_origins = tuple(embed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [
            (name.encode(), value.encode())
            for name, value in page_headers(scope["path"], self.embed_origins).items()
        ]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)
