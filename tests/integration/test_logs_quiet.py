"""The console of `make run` shows our logs, not aioice's every ICE check."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import logging
from live.logs import configure_logging
configure_logging({level!r}, "text")
logging.getLogger("aioice.ice").info("Check CandidatePair -> State.WAITING")
logging.getLogger("aioice.ice").warning("aioice warns")
logging.getLogger("live.media").info("ours")
"""


def console(level: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(level=level)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stderr


@pytest.mark.parametrize("level", ["info", "warning"])
def test_aioice_info_is_quiet_and_its_warnings_and_our_logs_are_not(level: str) -> None:
    text = console(level)
    assert "State.WAITING" not in text
    assert "aioice warns" in text
    assert ("ours" in text) is (level == "info")


def test_debug_shows_aioice_too() -> None:
    assert "State.WAITING" in console("debug")
