"""The room channel's two ways of writing a frame, for tests to run over both (as uvicorn
runs its tests over each protocol implementation): `direct` writes the ready-made frame
to uvicorn's transport (live.realtime.uvicorn_private.DirectWriter), `asgi` sends every
frame through the plain ASGI `send` ([realtime] direct_write = false)."""

from __future__ import annotations

import pytest

SEND_PATHS = ("direct", "asgi")


@pytest.fixture(params=SEND_PATHS)
def send_path(request: pytest.FixtureRequest) -> str:
    path: str = request.param
    return path


def send_path_env(send_path: str) -> dict[str, str]:
    """The settings (as LIVE_* variables) that choose `send_path`."""
    return {"LIVE_REALTIME_DIRECT_WRITE": "true" if send_path == "direct" else "false"}
