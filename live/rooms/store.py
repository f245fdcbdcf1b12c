"""Rooms in Redis: the record, the rooms index (live first) and the line-up."""

from __future__ import annotations

import secrets
from dataclasses import replace

from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.errors import WatchError
from live.redisdb.keys import Keys
from live.redisdb.scripts import script_source
from live.rooms.model import LIVE_BOOST, SCORE_SCALE, Room
from live.settings import Settings


class RoomStore:
    def __init__(self, redis: Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._lineup_add = redis.register_script(script_source("lineup_add"))

    async def create(self, room: Room) -> Room:
        room = replace(room, score=room.created_at * SCORE_SCALE + secrets.randbelow(SCORE_SCALE))
        key = self._keys.room(room.room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=room.to_hash())
            pipe.expire(key, self._settings.rooms.idle_retention_s)
            await pipe.execute()
        # The global rooms index lives in its own slot: written after the room, in its own
        # call (a room missing from it is only missing from the listing).
        await self._redis.zadd(self._keys.rooms_index(), {room.room_id: room.score})
        if room.host_id:
            # A host's shows, counted together by the host's figures (its own slot too).
            await self._redis.zadd(
                self._keys.host_rooms(room.host_id), {room.room_id: room.created_at}
            )
        return room

    async def get(self, room_id: str) -> Room:
        """The room, or `NotFound`."""
        data = await self._redis.hgetall(self._keys.room(room_id))
        if not data:
            raise NotFound(f"room {room_id} not found")
        return Room.from_hash(data)

    async def get_open(self, room_id: str) -> Room:
        """The room if it still takes actions, else `NotFound` or 409 `room_ended`."""
        room = await self.get(room_id)
        if room.status != "open":
            raise Conflict("the room has ended", code="room_ended")
        return room

    async def page(self, limit: int, cursor: int | None) -> tuple[list[Room], int | None]:
        """Open rooms, live ones first then newest first, and the cursor of the next page."""
        upper = f"({cursor}" if cursor is not None else "+inf"
        ids = await self._redis.zrevrangebyscore(
            self._keys.rooms_index(), upper, "-inf", start=0, num=limit + 1, withscores=True
        )
        rooms = await self.many([rid.decode() for rid, _ in ids[:limit]])
        next_cursor = int(ids[limit - 1][1]) if len(ids) > limit else None
        return rooms, next_cursor

    async def many(self, room_ids: list[str]) -> list[Room]:
        if not room_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.hgetall(self._keys.room(room_id))
            found = await pipe.execute()
        expired = [room_id for room_id, data in zip(room_ids, found, strict=True) if not data]
        if expired:
            # A room that expired without being ended leaves the index lazily, here.
            await self._redis.zrem(self._keys.rooms_index(), *expired)
        return [Room.from_hash(data) for data in found if data]

    async def set_live(self, room_id: str, live: bool, now_ms: int) -> tuple[Room, bool]:
        """Mark the room live (publishing) or not; the room and whether that changed it.

        The room's `live` field is the one record of it; the index score (live rooms sort
        first) is derived from it, written after it in its own call (another slot on a
        cluster)."""
        room = await self.get(room_id)
        if room.live == live:
            return room, False
        base = room.score % LIVE_BOOST
        score = base + LIVE_BOOST if live else base
        await self._redis.hset(self._keys.room(room_id), mapping={"live": "1" if live else "0"})
        if room.status == "open":
            await self._redis.zadd(self._keys.rooms_index(), {room_id: score}, xx=True)
        return replace(room, live=live), True

    async def end(self, room_id: str, now_ms: int) -> tuple[Room, bool]:
        """End the room: it leaves the index and expires after the retention time.

        Returns the room and whether this call ended it. The status is checked and set
        under WATCH, so of two concurrent calls only one ends the room (and announces it).
        """
        key = self._keys.room(room_id)
        tag_keys = [
            key,
            self._keys.room_lineup(room_id),
            self._keys.room_cards(room_id),
            self._keys.room_seq(room_id),
            self._keys.room_epoch(room_id),
            self._keys.room_history(room_id),
        ]
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    data = await pipe.hgetall(key)
                    if not data:
                        raise NotFound(f"room {room_id} not found")
                    room = Room.from_hash(data)
                    if room.status == "ended":
                        return room, False
                    ended = replace(room, status="ended", live=False, ended_at=now_ms)
                    pipe.multi()
                    pipe.hset(key, mapping=ended.to_hash())
                    for tag_key in tag_keys:
                        pipe.expire(tag_key, self._settings.rooms.ended_retention_s)
                    await pipe.execute()
                    break
                except WatchError:
                    # Another writer touched the room between our read and our write
                    # (a concurrent end, or a live flag): read it again.
                    continue
        # The global index is in another slot than the room: left in its own call, once
        # the room is ended (should this call fail, the room stays listed as ended until
        # its record expires and the listing drops it).
        await self._redis.zrem(self._keys.rooms_index(), room_id)
        return ended, True

    async def add_to_lineup(self, room_id: str, sku: str, now_ms: int, card: bytes) -> list[str]:
        """Add `sku` to the room's line-up (idempotent) with its product `card` (JSON, what
        a pin shows) and return the line-up's skus; 409 `lineup_full` when it already
        holds `[rooms] max_lineup` other products.

        One script checks the size and adds, so concurrent adds never pass the limit."""
        rooms = self._settings.rooms
        answer = await self._lineup_add(
            keys=[self._keys.room_lineup(room_id), self._keys.room_cards(room_id)],
            args=[sku, now_ms, rooms.max_lineup, rooms.idle_retention_s, card],
        )
        if answer[0] == b"lineup_full":
            raise Conflict("the room's line-up is full", code="lineup_full")
        return [s.decode() for s in answer[1:]]

    async def lineup(self, room_id: str) -> list[str]:
        skus = await self._redis.zrange(self._keys.room_lineup(room_id), 0, -1)
        return [s.decode() for s in skus]

    async def in_lineup(self, room_id: str, sku: str) -> bool:
        return await self._redis.zscore(self._keys.room_lineup(room_id), sku) is not None
