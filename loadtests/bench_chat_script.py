"""chat.lua's cost inside Redis, per message, with the room recorded or not.

A recorded room's chat keeps the host's lines beside the replay's chapters (for the
search's moments): a viewer's message pays one comparison more, a host's one LLEN, RPUSH
and EXPIRE more. This measures Redis's own time per script call (`INFO commandstats`,
`usec_per_call` of EVALSHA, reset before each mode), not the round trip, on an embedded
redis-server, the modes interleaved over rounds: the baseline is a viewer's message in a
room that is not recorded, in the same run.

    .venv/bin/python -m loadtests.bench_chat_script --messages 5000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import orjson
from redis.asyncio import Redis

from live.realtime.store import ChannelStore
from live.redisdb.embedded import EmbeddedRedis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import load_settings

MODES = ("viewer, not recorded", "viewer, recorded", "host, recorded")


async def one_mode(redis: Redis, store: ChannelStore, keys: Keys, mode: str, count: int) -> float:
    """Redis's microseconds per chat.lua call in `mode`."""
    room_id = "r_" + secrets.token_hex(4)
    await redis.hset(keys.room(room_id), mapping={"status": "open"})
    if "not" not in mode:
        # A live, recorded room: the media clock its origin renews (ttl > 0: recorded).
        now = int(time.time() * 1000)
        clock = {"pos": 1000, "at": now + 3_600_000, "ttl": 3600}
        await redis.hset(keys.room_media_clock(room_id), mapping=clock)
    host = mode.startswith("host")
    role, user = ("host", "h_1") if host else ("viewer", "")
    await redis.config_resetstat()
    for i in range(count):
        sender = user or f"v_{i % 500}"  # viewers under their rate limit
        await store.chat(room_id, sender, "Ann", "is it made to order?", f"m{i}", host, role)
    stats = await redis.info("commandstats")
    return float(stats["cmdstat_evalsha"]["usec_per_call"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    settings = load_settings({"LIVE_CHAT_RATE_COUNT": "1000000"})
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedRedis(Path(data))
        url = server.start()
        redis = Redis.from_url(url)
        try:
            keys = Keys(settings.redis.key_prefix)
            store = ChannelStore(redis, keys, Scripts(redis), settings)
            figures: dict[str, list[float]] = {mode: [] for mode in MODES}
            for _ in range(options.rounds):
                for mode in MODES:
                    figures[mode].append(await one_mode(redis, store, keys, mode, options.messages))
        finally:
            await redis.aclose()
            server.stop()
    base = sum(figures[MODES[0]]) / len(figures[MODES[0]])
    report = {
        mode: {
            "usec_per_call": [round(v, 2) for v in values],
            "ratio_to_baseline": round(sum(values) / len(values) / base, 3),
        }
        for mode, values in figures.items()
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    asyncio.run(main())
