"""Loads the Lua scripts under `lua/`. Each script is sent with `lua/_lib.lua` in front, so
scripts share helpers (such as emitting a durable room event) without Redis Functions."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from redis.commands.core import AsyncScript

from live.redisdb.client import Redis

LUA_DIR = Path(__file__).parent / "lua"


@cache
def script_source(name: str, history_min_age_s: int = 600) -> str:
    """The full source sent to Redis for `lua/<name>.lua`."""
    lib = (LUA_DIR / "_lib.lua").read_text()
    lib = lib.replace("__HISTORY_MIN_AGE_MS__", str(history_min_age_s * 1000))
    return lib + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class Scripts:
    """Named scripts bound to one client; EVALSHA with a fallback to EVAL on NOSCRIPT."""

    def __init__(self, client: Redis, *, history_min_age_s: int = 600) -> None:
        self._client = client
        self._history_min_age_s = history_min_age_s
        self._scripts: dict[str, AsyncScript] = {}

    def get(self, name: str) -> AsyncScript:
        script = self._scripts.get(name)
        if script is None:
            script = self._client.register_script(script_source(name, self._history_min_age_s))
            self._scripts[name] = script
        return script

    async def call(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self.get(name)(keys=keys, args=args)
