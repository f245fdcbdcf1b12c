"""Settings are one frozen object: only `live/settings.py` and the process edge
(`live/cli.py`: `live serve` and the uvicorn factory) read or write the environment."""

from __future__ import annotations

import ast

from live.settings import PROJECT_ROOT

ALLOWED = {"live/settings.py", "live/cli.py"}


def test_only_settings_and_the_cli_touch_the_environment() -> None:
    touching = set()
    for path in (PROJECT_ROOT / "live").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
            if name in ("environ", "getenv", "putenv", "unsetenv"):
                touching.add(path.relative_to(PROJECT_ROOT).as_posix())
    assert touching <= ALLOWED, sorted(touching - ALLOWED)
