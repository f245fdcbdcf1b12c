"""Rooms in Redis: the record, the rooms index (live first) and the line-up."""

from __future__ import annotations

import secrets
from dataclasses import replace

from redis.exceptions import WatchError

from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.rooms.model import LIVE_BOOST, SCORE_SCALE, Room
from live.settings import Settings


class RoomStore:
    def __init__(self, redis: Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings

    async def create(self, room: Room) -> Room:
        room = replace(room, score=room.created_at * SCORE_SCALE + secrets.randbelow(SCORE_SCALE))
        key = self._keys.room(room.room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=room.to_hash())
            pipe.expire(key, self._settings.rooms.idle_retention_s)
            pipe.zadd(self._keys.rooms_index(), {room.room_id: room.score})
            if room.status == "scheduled" and room.starts_at is not None:
                pipe.zadd(self._keys.scheduled_rooms_index(), {room.room_id: room.starts_at})
            await pipe.execute()
        return room

    async def get(self, room_id: str) -> Room:
        """The room, or `NotFound`."""
        data = await self._redis.hgetall(self._keys.room(room_id))
        if not data:
            raise NotFound(f"room {room_id} not found")
        return Room.from_hash(data)

    async def get_open(self, room_id: str) -> Room:
        """The room if it still takes actions (open or scheduled: a host may go live early),
        else `NotFound` or 409 `room_ended`."""
        room = await self.get(room_id)
        if room.status == "ended":
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

    async def page_by_time(
        self, status: str, limit: int, cursor: int | None
    ) -> tuple[list[Room], int | None]:
        """Scheduled rooms soonest first, or ended rooms latest first; the next cursor
        is the last score of the page (times are ms, ties are rare and only repeat)."""
        if status == "scheduled":
            lower = f"({cursor}" if cursor is not None else "-inf"
            ids = await self._redis.zrangebyscore(
                self._keys.scheduled_rooms_index(),
                lower,
                "+inf",
                start=0,
                num=limit + 1,
                withscores=True,
            )
        else:
            upper = f"({cursor}" if cursor is not None else "+inf"
            ids = await self._redis.zrevrangebyscore(
                self._keys.ended_rooms_index(),
                upper,
                "-inf",
                start=0,
                num=limit + 1,
                withscores=True,
            )
        index = (
            self._keys.scheduled_rooms_index()
            if status == "scheduled"
            else self._keys.ended_rooms_index()
        )
        rooms = await self.many([rid.decode() for rid, _ in ids[:limit]], index=index)
        next_cursor = int(ids[limit - 1][1]) if len(ids) > limit else None
        return [r for r in rooms if r.status == status], next_cursor

    async def many(self, room_ids: list[str], index: str | None = None) -> list[Room]:
        """The rooms that still exist; expired ones leave `index` (default: the rooms
        index)."""
        if not room_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                pipe.hgetall(self._keys.room(room_id))
            found = await pipe.execute()
        expired = [room_id for room_id, data in zip(room_ids, found, strict=True) if not data]
        if expired:
            # A room that expired without being ended leaves the index lazily, here.
            await self._redis.zrem(index or self._keys.rooms_index(), *expired)
        return [Room.from_hash(data) for data in found if data]

    async def set_live(self, room_id: str, live: bool, now_ms: int) -> tuple[Room, bool]:
        """Mark the room live (publishing) or not; the room and whether that changed it.

        The room's `live` field is the one record of it; the index score (live rooms sort
        first) is derived from it, written in the same transaction."""
        room = await self.get(room_id)
        if room.live == live:
            return room, False
        # A scheduled show opens the first time its host goes live (early, if they like).
        status = "open" if live and room.status == "scheduled" else room.status
        base = room.score % LIVE_BOOST
        score = base + LIVE_BOOST if live else base
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._keys.room(room_id), mapping={"live": "1" if live else "0", "status": status}
            )
            if status == "open":
                pipe.zadd(self._keys.rooms_index(), {room_id: score}, xx=True)
                pipe.zrem(self._keys.scheduled_rooms_index(), room_id)
            await pipe.execute()
        return replace(room, live=live, status=status), True

    async def end(self, room_id: str, now_ms: int) -> tuple[Room, bool]:
        """End the room: it leaves the index and expires after the retention time.

        Returns the room and whether this call ended it. The status is checked and set
        under WATCH, so of two concurrent calls only one ends the room (and announces it).
        """
        key = self._keys.room(room_id)
        tag_keys = [
            key,
            self._keys.room_lineup(room_id),
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
                    pipe.zrem(self._keys.rooms_index(), room_id)
                    pipe.zrem(self._keys.scheduled_rooms_index(), room_id)
                    ended_index = self._keys.ended_rooms_index()
                    pipe.zadd(ended_index, {room_id: now_ms})
                    # Recent replays only: the oldest beyond the last 1,000 drop out.
                    pipe.zremrangebyrank(ended_index, 0, -1001)
                    for tag_key in tag_keys:
                        pipe.expire(tag_key, self._settings.rooms.ended_retention_s)
                    await pipe.execute()
                    return ended, True
                except WatchError:
                    # Another writer touched the room between our read and our write
                    # (a concurrent end, or a live flag): read it again.
                    continue

    async def add_to_lineup(self, room_id: str, sku: str, now_ms: int) -> list[str]:
        """Add `sku` to the room's line-up (idempotent) and return the line-up's skus."""
        key = self._keys.room_lineup(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {sku: now_ms}, nx=True)
            pipe.zrange(key, 0, -1)
            pipe.expire(key, self._settings.rooms.idle_retention_s)
            _, skus, _ = await pipe.execute()
        return [s.decode() for s in skus]

    async def lineup(self, room_id: str) -> list[str]:
        skus = await self._redis.zrange(self._keys.room_lineup(room_id), 0, -1)
        return [s.decode() for s in skus]

    async def in_lineup(self, room_id: str, sku: str) -> bool:
        return await self._redis.zscore(self._keys.room_lineup(room_id), sku) is not None

    async def lineup_size(self, room_id: str) -> int:
        return int(await self._redis.zcard(self._keys.room_lineup(room_id)))
