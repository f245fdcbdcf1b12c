"""The room history keeps at least `history_min_events` events and at least the last
`history_min_age_s` seconds, so a client can resume after a short disconnect."""

from __future__ import annotations

import secrets

import orjson

from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts


async def _emit(redis: Redis, scripts: Scripts, keys: Keys, room: str, count: int) -> None:
    room_keys = [keys.room_seq(room), keys.room_history(room), keys.room_channel(room)]
    async with redis.pipeline(transaction=False) as pipe:
        for _ in range(count):
            await scripts.get("room_event")(
                keys=room_keys, args=["durable", orjson.dumps({"type": "x"}), 100], client=pipe
            )
        await pipe.execute()


async def test_old_events_beyond_the_minimum_count_are_trimmed(redis: Redis) -> None:
    keys = Keys("h" + secrets.token_hex(4))
    await _emit(redis, Scripts(redis, history_min_age_s=0), keys, "r1", 1000)
    entries = await redis.xrange(keys.room_history("r1"))
    seqs = [int(entry_id.split(b"-")[0]) for entry_id, _ in entries]
    assert 100 <= len(seqs) <= 300
    assert seqs == list(range(seqs[0], 1001))


async def test_recent_events_are_kept_whatever_their_number(redis: Redis) -> None:
    keys = Keys("h" + secrets.token_hex(4))
    await _emit(redis, Scripts(redis, history_min_age_s=600), keys, "r2", 1000)
    assert await redis.xlen(keys.room_history("r2")) == 1000
