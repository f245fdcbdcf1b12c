"""Finding 8 (logs): text logs escape control characters, so a request path with %0a
cannot forge a log line; invalid-UTF-8 frames are one INFO line without a traceback."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from live.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.serving import ADMIN, serve_env, stop, wait_healthy

pytestmark = pytest.mark.slow


def _send_invalid_utf8_frame(port: int, room_id: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws/rooms/{room_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert b" 101 " in sock.recv(4096)
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\xff\xfe\xfd"))
        sock.sendall(bytes([0x81, 0x80 | 3]) + mask + payload)  # FIN + text, masked
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sock.recv(4096):
            pass  # until the server closes the connection


def test_a_forged_log_line_and_a_bad_frame_stay_one_escaped_line(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "stderr.log"
    env = serve_env(LIVE_LOGGING_FORMAT="text", LIVE_REDIS_EMBEDDED_DIR=str(tmp_path / "redis"))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "live.cli", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base)
            httpx.get(base + "/api/rooms/x%0a12:00:00 INFO    live.app: admin logged in")
            room = httpx.post(
                base + "/api/rooms", json={"title": "t", "host_name": "h"}, headers=ADMIN
            ).json()
            _send_invalid_utf8_frame(port, room["room_id"])
        finally:
            stop(process)
    text = log_path.read_text(errors="replace")
    assert not any(line.startswith("12:00:00 INFO") for line in text.splitlines()), text
    assert "\\x0a12:00:00" in text, text
    assert "Traceback" not in text and " ERROR " not in text, text
    assert text.count("invalid UTF-8") == 1, text
