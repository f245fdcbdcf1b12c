"""Loads the Lua scripts under `lua/`. Each script is sent with `lua/_lib.lua` in front, so
scripts share helpers (such as emitting a durable room event) without Redis Functions.
A script may name more helper files with lines `-- include: _name.lua`; they follow _lib."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

from redis.commands.core import AsyncScript

from live.redisdb.client import Redis, is_cluster

# Package data of live.redisdb, in the wheel as in the checkout.
LUA_DIR = files("live.redisdb") / "lua"
_INCLUDE = re.compile(r"^-- include: (_[a-z_]+\.lua)$", re.MULTILINE)


@cache
def script_source(name: str, history_min_age_s: int = 600) -> str:
    """The full source sent to Redis for `lua/<name>.lua`."""
    body = (LUA_DIR / f"{name}.lua").read_text()
    lib = (LUA_DIR / "_lib.lua").read_text()
    lib = lib.replace("__HISTORY_MIN_AGE_MS__", str(history_min_age_s * 1000))
    parts = [lib]
    parts += [(LUA_DIR / inc).read_text() for inc in _INCLUDE.findall(body)]
    return "\n".join([*parts, body])


class Scripts:
    """Named scripts bound to one client; EVALSHA with a fallback to EVAL on NOSCRIPT."""

    def __init__(self, client: Redis, *, history_min_age_s: int = 600) -> None:
        self._client = client
        self._cluster = is_cluster(client)
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

    def queue(self, pipe: Redis, name: str, keys: list[str], args: list[Any]) -> None:
        """Add a call of `name` to a pipeline (the pipeline loads missing scripts first).
        A cluster pipeline cannot load scripts on the nodes it splits into, so there the
        call carries its source (EVAL): pipelines of scripts are off the hot paths (sale
        sweeps, order records, lease renewals)."""
        script = self.get(name)
        if self._cluster:
            pipe.eval(script.script, len(keys), *keys, *args)
            return
        pipe.scripts.add(script)
        pipe.evalsha(script.sha, len(keys), *keys, *args)
