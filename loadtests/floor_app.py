"""The floor of the stack for bench_buy.py: a bare Starlette endpoint making one Redis call,
served the same way as live (uvicorn, uvloop, httptools, one worker, the same client)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from live.redisdb.client import connect
from live.settings import load_settings


def create_floor_app() -> Starlette:
    settings = load_settings()
    state: dict[str, object] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["redis"] = connect(os.environ["LIVE_REDIS_URL"], settings)
        yield

    async def floor(request: Request) -> Response:
        body = orjson.loads(await request.body())
        count = await state["redis"].incr("floor:" + str(body.get("qty", 1)))  # type: ignore[attr-defined]
        return Response(orjson.dumps({"count": count}), 201, media_type="application/json")

    return Starlette(routes=[Route("/floor", floor, methods=["POST"])], lifespan=lifespan)
