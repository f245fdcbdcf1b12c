"""Loads the Lua scripts under `lua/`. Each script is sent with `lua/_lib.lua` in front, so
scripts share helpers (such as emitting a durable room event) without Redis Functions.
A script may name more helper files with lines `-- include: _name.lua`; they follow _lib.

A script may also be composed of other scripts: each line `-- part: <name>.lua <n>` puts
`<name>.lua`'s body in front of it as a local function `<name>(KEYS, ARGV)`, whose header
must name exactly n KEYS (so the composite's key layout still fits the part). Composition
fails loudly (`CompositionError`, when the script is first loaded, at start-up) when a part
no longer fits: its header's keys changed, it includes a helper file the composite does
not, or its name is taken by a helper."""

from __future__ import annotations

import itertools
import re
from functools import cache
from importlib.resources import files
from typing import Any

from redis.commands.core import AsyncScript

from live.redisdb.client import Redis, is_cluster

# Package data of live.redisdb, in the wheel as in the checkout.
LUA_DIR = files("live.redisdb") / "lua"
_INCLUDE = re.compile(r"^-- include: (_[a-z_]+\.lua)$", re.MULTILINE)
_PART = re.compile(r"^-- part: ([a-z_]+)\.lua (\d+)$", re.MULTILINE)
_HEADER_KEY = re.compile(r"KEYS\[(\d+)\]")
_LOCAL_NAME = re.compile(r"^local (?:function )?([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


class CompositionError(RuntimeError):
    """A composed script's part no longer fits it (see the module's docstring)."""


@cache
def script_source(name: str, history_min_age_s: int = 600) -> str:
    """The full source sent to Redis for `lua/<name>.lua`."""
    body = (LUA_DIR / f"{name}.lua").read_text()
    lib = (LUA_DIR / "_lib.lua").read_text()
    lib = lib.replace("__HISTORY_MIN_AGE_MS__", str(history_min_age_s * 1000))
    parts = [lib]
    includes = _INCLUDE.findall(body)
    parts += [(LUA_DIR / inc).read_text() for inc in includes]
    helpers = set(_LOCAL_NAME.findall("\n".join(parts)))
    for part, key_count in _PART.findall(body):
        parts.append(_part_function(name, part, int(key_count), includes, helpers))
    return "\n".join([*parts, body])


def _part_function(
    composite: str, part: str, key_count: int, includes: list[str], helpers: set[str]
) -> str:
    """`lua/<part>.lua`'s body as `local function <part>(KEYS, ARGV) ... end`."""
    body = (LUA_DIR / f"{part}.lua").read_text()
    header = "\n".join(itertools.takewhile(lambda line: line.startswith("--"), body.splitlines()))
    named = {int(n) for n in _HEADER_KEY.findall(header)}
    if named != set(range(1, key_count + 1)):
        raise CompositionError(
            f"{composite}.lua expects {part}.lua to name KEYS[1..{key_count}];"
            f" its header names {sorted(named)}"
        )
    missing = set(_INCLUDE.findall(body)) - set(includes)
    if missing or _PART.search(body):
        raise CompositionError(
            f"{part}.lua needs {sorted(missing) or 'parts'}, which {composite}.lua lacks"
        )
    if part in helpers:
        raise CompositionError(f"{part}, a part of {composite}.lua, is also a helper's name")
    return f"local function {part}(KEYS, ARGV)\n{body}\nend"


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
