"""`live serve` and `live demo` refuse to start, in one line, when a library lacks a
private attribute live relies on (as after an upgrade that moved it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from live.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.serving import serve_env

# Imported by Python at start-up (it is on PYTHONPATH): the installed library, minus
# one attribute, as a future release might ship it.
SHIMS = {
    "class attribute": (
        "import aiortc\ndel aiortc.RTCRtpSender._send_keyframe\n",
        "aiortc 1.16.0 has no RTCRtpSender._send_keyframe, which live needs "
        "(built for aiortc==1.16.0); install aiortc==1.16.0",
    ),
    "instance attribute": (
        "from uvicorn.protocols.websockets import websockets_sansio_impl as impl\n"
        "cls = impl.WebSocketsSansIOProtocol\n"
        "original = cls.__init__\n"
        "def init(self, *args, **kwargs):\n"
        "    original(self, *args, **kwargs)\n"
        "    del self.writable\n"
        "cls.__init__ = init\n",
        "uvicorn 0.54.0 has no WebSocketsSansIOProtocol.writable, which live needs "
        "(built for uvicorn==0.54.0); install uvicorn==0.54.0",
    ),
}


def live_command() -> list[str]:
    script = Path(sys.executable).parent / "live"
    return [str(script)] if script.exists() else [sys.executable, "-m", "live.cli"]


@pytest.mark.parametrize("command", ["serve", "demo"])
@pytest.mark.parametrize("missing", list(SHIMS))
def test_a_missing_private_attribute_stops_startup_in_one_line(
    tmp_path: Path, command: str, missing: str
) -> None:
    shim, line = SHIMS[missing]
    (tmp_path / "sitecustomize.py").write_text(shim)
    env = serve_env(PYTHONPATH=str(tmp_path))
    out = subprocess.run(
        [*live_command(), command, "--port", str(free_port()), "--workers", "2"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert out.stderr.splitlines() == [f"live: {line}"], out.stderr
    assert out.stdout == ""
