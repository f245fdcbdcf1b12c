"""Property-based fuzzing of the room channel: every message type with hostile fields, and
raw frames (garbage text, binary, invalid UTF-8, deep JSON, huge numbers). The handler
never crashes, every refusal is an `error` event with a stable code, and nobody else's
connection is touched."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from live import realtime
from live.realtime.store import _REFUSALS
from tests.conftest import free_port
from tests.redis_server import TestRedis
from tests.serving import ADMIN, serve_env, spawn_serve, stop, wait_healthy

pytestmark = pytest.mark.slow

# The error codes a hostile frame may get: only codes the server really sends (slow mode
# and bans answer `rate_limited` and `forbidden`), and never `internal` or `unavailable`.
STABLE_CODES = {"bad_message", "forbidden", "rate_limited", "muted", "too_large", "room_ended"}
TYPES = ["chat", "like", "ping", "pin", "unpin", "delete_chat", "mute", "ban", "slow_mode"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=80),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | st.text(max_size=12) | json_scalars},
    optional={key: json_values for key in ("text", "sku", "msg_id", "user_id", "seconds", "extra")},
).map(lambda m: json.dumps(m))
raw_frames = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300),
    st.just(b'\xff\xfe\xfd{"type":"chat"}'),
    st.integers(min_value=1, max_value=1500).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=600).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.just('{"type":"mute","user_id":"u","seconds":1e999999}'),
    st.just('{"type":"slow_mode","seconds":123456789012345678901234567890}'),
    st.just('{"type":"chat","text":"\\ud800"}'),
)


@dataclass
class Room:
    base: str
    ws_base: str
    room_id: str
    host_token: str
    viewer_token: str


@pytest.fixture(scope="module")
def room(redis_server: TestRedis) -> Iterator[Room]:
    port = free_port()
    env = serve_env(
        LIVE_REDIS_URL=redis_server.url,
        LIVE_REDIS_KEY_PREFIX="wsfuzz",
        # Fuzzing sends far faster than a person: lift the inbound frame rate so every
        # frame reaches the parser (the rate limit itself is tested in tests/realtime).
        LIVE_REALTIME_INBOUND_RATE="100000",
        LIVE_LIMITS_EXEMPT_NETWORKS="127.0.0.0/8",
        LIVE_LOGGING_LEVEL="warning",
    )
    process = spawn_serve(port, env)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    created = httpx.post(
        base + "/api/rooms", json={"title": "fuzz", "host_name": "h"}, headers=ADMIN
    ).json()
    viewer = httpx.post(base + "/api/sessions", json={"name": "v"}).json()
    yield Room(
        base, f"ws://127.0.0.1:{port}", created["room_id"], created["host_token"], viewer["token"]
    )
    stop(process)


def open_channel(stack: ExitStack, room: Room, token: str | None) -> ClientConnection:
    query = f"?token={token}" if token else ""
    url = f"{room.ws_base}/ws/rooms/{room.room_id}{query}"
    ws = stack.enter_context(connect(url, open_timeout=10))
    first = orjson.loads(ws.recv(timeout=10))
    assert first[0]["type"] == "snapshot"
    return ws


def errors_until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    """Send a ping and collect the error events that arrive before its pong."""
    ws.send('{"type":"ping"}')
    errors = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for event in orjson.loads(ws.recv(timeout=10)):
            if event["type"] == "error":
                errors.append(event)
            if event["type"] == "pong":
                return errors
    raise AssertionError("no pong: the connection handler stopped answering")


def check_survives(ws: ClientConnection, frame: str | bytes) -> None:
    ws.send(frame)
    for error in errors_until_pong(ws):
        assert error["code"] in STABLE_CODES, error
        assert isinstance(error["message"], str) and error["message"]


def sent_error_codes() -> set[str]:
    """Every websocket error code the room channel's code can send."""
    codes = {code for code, _ in _REFUSALS.values()}
    for source in Path(realtime.__file__).parent.glob("*.py"):
        codes |= set(re.findall(r'ChannelError\(\s*"([a-z_]+)"', source.read_text()))
    return codes


def test_the_allowed_codes_are_codes_the_server_sends() -> None:
    assert sent_error_codes() >= STABLE_CODES
    assert not STABLE_CODES & {"internal", "unavailable"}


def test_hostile_messages_never_break_the_channel(room: Room) -> None:
    with ExitStack() as stack:
        bystander = open_channel(stack, room, room.viewer_token)
        host = open_channel(stack, room, room.host_token)
        viewer = open_channel(stack, room, room.viewer_token)
        anonymous = open_channel(stack, room, None)
        fuzz(host, viewer, anonymous)
        # The bystander, who sent nothing, is still connected and served.
        assert errors_until_pong(bystander) == []


def test_an_oversized_frame_closes_only_its_own_connection(room: Room) -> None:
    with ExitStack() as stack:
        bystander = open_channel(stack, room, room.viewer_token)
        sender = open_channel(stack, room, room.viewer_token)
        sender.send('{"type":"chat","text":"' + "x" * 10_000 + '"}')
        with pytest.raises(ConnectionClosed):
            while True:
                sender.recv(timeout=10)
        assert sender.close_code == 1009
        assert errors_until_pong(bystander) == []


def fuzz(host: ClientConnection, viewer: ClientConnection, anonymous: ClientConnection) -> None:
    @given(frame=messages | raw_frames, who=st.sampled_from(["host", "viewer", "anonymous"]))
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    def run(frame: str | bytes, who: str) -> None:
        ws = {"host": host, "viewer": viewer, "anonymous": anonymous}[who]
        check_survives(ws, frame)

    run()
