"""Idle keep-alive HTTP connections: the server holds them for `[server] keep_alive_s`,
longer than its clients do, so a client never reuses a connection the server is closing
at that very moment (uvicorn's and httpx's equal 5 s defaults raced: httpx.ReadError)."""

from __future__ import annotations

import asyncio

import httpx

from live.settings import load_settings
from tests.conftest import make_settings, start_server
from tests.redis_server import TestRedis


def test_the_server_outlasts_its_clients_and_load_balancers_idle_timeouts() -> None:
    keep_alive = load_settings({}).server.keep_alive_s
    httpx_expiry = httpx.Limits().keepalive_expiry
    assert httpx_expiry is not None and keep_alive > httpx_expiry
    assert keep_alive > 60  # the idle timeout of common load balancers (AWS ALB, nginx 75)


async def test_an_idle_connection_is_closed_after_keep_alive_s(redis_server: TestRedis) -> None:
    settings = make_settings(LIVE_SERVER_KEEP_ALIVE_S="0.5")
    server, task, port, _ = await start_server(settings, redis_server.url)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        # The connection stays usable, then the server closes it once idle past the setting.
        assert await asyncio.wait_for(reader.read(), 3) == b""  # uvicorn alone: 5 s
        writer.close()
    finally:
        server.should_exit = True
        await task
