"""Replays in Redis: the record of each room's recording, its chapters and line-up.

Keys (all under the room's hash tag, docs/redis-keys.md): `{r:<room>}:replay` (the record:
status, the media clock's start `t0`, the parts, the files), `{r:<room>}:chapters` (written
by `_lib.lua` as durable events are taken while the room is live), `{r:<room>}:mclock` (the
media clock while live) and `{r:<room>}:replay:lineup`; the global `replays` index lists
ready replays. Every key lives `[media] replay_retention_days`, whatever the room's own
retention.

For other parts of live (search indexes chapters as "moments"): `chapters(room_id)` and
`ready(limit, cursor)` are the read side, plain data, no I/O beyond Redis; a
`ChaptersListener` is told a replay's chapters when it becomes ready or is deleted. An
ended room's picture, a still of its replay, is `{r:<room>}:replay:still` (a hash like the
live thumbnail's), made once by the finisher, written with the replay's readiness and
deleted with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from live.errors import Conflict, NotFound
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.replay.rules import Part, chapter_view, parts_of
from live.rooms.thumbnails import Thumbnail
from live.settings import MediaSettings

DAY_S = 86400
# The media clock lapses this long after the origin's last tick (it ticks every second).
CLOCK_TTL_MS = 4000


@dataclass(frozen=True)
class ReplayChapters:
    """A replay's chapters (as `ReplayStore.chapters` gives them) and what names them, for
    those told that it became ready or was deleted (the search's moments)."""

    room_id: str
    title: str  # the show's title, as it was when recorded
    ready_at: int  # epoch ms; 0 when it never became ready
    chapters: Sequence[Mapping[str, Any]]


ChaptersListener = Callable[[ReplayChapters], Awaitable[None]]


@dataclass(frozen=True)
class Begin:
    """What a publisher's origin learns from Redis when its WHIP is answered."""

    redis_now_ms: int
    t0: int | None
    part: int
    recorded: bool


@dataclass(frozen=True)
class ReplayRecord:
    room_id: str
    status: str
    fields: dict[str, bytes]
    parts: list[Part]


class ReplayStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, media: MediaSettings) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._record = media.record
        self.retention_s = media.replay_retention_days * DAY_S

    # --- the origin's side (live.media.hub) ----------------------------------------
    async def begin(self, room_id: str, new_part: bool, codec: str) -> Begin:
        k = self._keys
        now, t0, part, recorded = await self._scripts.call(
            "replay_begin",
            [k.room(room_id), k.room_replay(room_id)],
            ["1" if self._record else "0", "1" if new_part else "0", codec, self.retention_s],
        )
        return Begin(int(now), int(t0) if t0 else None, int(part), bool(int(recorded)))

    async def clock_tick(
        self, room_id: str, position_ms: float, age_ms: float, t0: int | None, recorded: bool
    ) -> tuple[int | None, int]:
        """The last video frame forwarded (at `position_ms`, `age_ms` ago); saves `t0`
        unless Redis has one already. Returns the start Redis holds, and Redis's time."""
        k = self._keys
        held, now = await self._scripts.call(
            "media_clock",
            [k.room_media_clock(room_id), k.room_replay(room_id)],
            [
                "tick",
                f"{position_ms:.1f}",
                int(age_ms),
                "" if t0 is None else t0,
                self.retention_s if recorded else 0,
                CLOCK_TTL_MS,
            ],
        )
        return (int(held) if held else None), int(now)

    async def clock_stop(self, room_id: str) -> None:
        """The room is not live any more: durable events stop carrying `media_ms`."""
        k = self._keys
        await self._scripts.call(
            "media_clock",
            [k.room_media_clock(room_id), k.room_replay(room_id)],
            ["stop", "0", 0, "", 0, CLOCK_TTL_MS],
        )

    async def part_done(self, room_id: str, part: int, summary: dict[str, object]) -> None:
        await self._scripts.call(
            "replay_part", [self._keys.room_replay(room_id)], [part, orjson.dumps(summary)]
        )

    # --- finishing (live.media.replays) ---------------------------------------------
    def _finish_keys(self, room_id: str) -> list[str]:
        k = self._keys
        return [
            k.room_replay(room_id),
            k.room_replay_lineup(room_id),
            k.room_lineup(room_id),
            k.room_cards(room_id),
            k.room_chapters(room_id),
            k.room_replay_still(room_id),
        ]

    async def claim_finish(self, room_id: str, for_ms: int) -> bool:
        """True when this caller may finish the replay now (it is recording, no other
        finisher holds it)."""
        answer = await self._scripts.call(
            "replay_finish", self._finish_keys(room_id), ["claim", for_ms, 0, "", ""]
        )
        return bool(answer[0] == b"ok")

    async def mark_ready(self, room_id: str, fields: dict[str, Any], still: bytes) -> bool:
        """The replay ready, with its picture (`still`, a JPEG; empty: none), at once.
        False when the replay was not recording any more (deleted meanwhile)."""
        etag = hashlib.blake2b(still, digest_size=12).hexdigest() if still else ""
        answer = await self._scripts.call(
            "replay_finish",
            self._finish_keys(room_id),
            ["ready", orjson.dumps(fields), self.retention_s, still, etag],
        )
        if answer[0] != b"ok":
            return False
        # The global index lives in its own slot: written after the record, on its own.
        await self._redis.zadd(self._keys.replays_index(), {room_id: int(fields["ready_at"])})
        return True

    async def mark_empty(self, room_id: str) -> None:
        await self._scripts.call(
            "replay_finish",
            self._finish_keys(room_id),
            ["empty", "{}", self.retention_s, "", ""],
        )

    async def delete(self, room_id: str) -> list[str]:
        """Delete the replay's record; the names of its files (for the caller to remove).
        404 when there is none; 409 `recording` while the room is still being recorded."""
        k = self._keys
        answer = await self._scripts.call(
            "replay_delete",
            [
                k.room_replay(room_id),
                k.room_replay_lineup(room_id),
                k.room_chapters(room_id),
                k.room(room_id),
                k.room_replay_still(room_id),
            ],
            [self.retention_s],
        )
        if answer[0] == b"none":
            raise NotFound("this room has no replay")
        if answer[0] == b"recording":
            raise Conflict("the show is still being recorded; end the room first", code="recording")
        await self._redis.zrem(k.replays_index(), room_id)
        files: list[str] = orjson.loads(answer[1])
        return files

    # --- the read side -------------------------------------------------------------
    async def still(self, room_id: str) -> Thumbnail | None:
        """The replay's picture, None when it has none (not ready, deleted, no video)."""
        data = await self._redis.hgetall(self._keys.room_replay_still(room_id))
        if not data or b"jpeg" not in data:
            return None
        return Thumbnail(data[b"jpeg"], data[b"etag"].decode(), int(data[b"at"]))

    async def get(self, room_id: str) -> ReplayRecord | None:
        raw = await self._redis.hgetall(self._keys.room_replay(room_id))
        if not raw:
            return None
        fields = {k.decode(): v for k, v in raw.items()}
        status = fields.get("status", b"none").decode()
        return ReplayRecord(room_id, status, fields, parts_of(fields))

    async def chapters(self, room_id: str) -> list[dict[str, Any]]:
        """The replay's chapters, oldest first: `{"at_ms","type","title","sku"?,
        "sale_id"?,"auction_id"?,"question"?,"answer"?,"seq","ts"}`."""
        raw = await self._redis.lrange(self._keys.room_chapters(room_id), 0, -1)
        return [chapter_view(item) for item in raw]

    async def with_chapters(self, room_id: str) -> ReplayChapters:
        """The replay's chapters with its title (empty when there is no replay)."""
        record = await self.get(room_id)
        fields = record.fields if record is not None else {}
        return ReplayChapters(
            room_id,
            fields.get("title", b"").decode(),
            int(fields.get("ready_at", b"0")),
            await self.chapters(room_id),
        )

    async def lineup(self, room_id: str) -> list[dict[str, Any]]:
        """The product cards kept with the replay (its line-up when it became ready)."""
        raw = await self._redis.hgetall(self._keys.room_replay_lineup(room_id))
        return [orjson.loads(card) for card in raw.values()]

    async def ready(self, limit: int, cursor: int | None = None) -> tuple[list[str], int | None]:
        """Room ids of ready replays, newest first, and the cursor of the next page."""
        upper = f"({cursor}" if cursor is not None else "+inf"
        found = await self._redis.zrevrangebyscore(
            self._keys.replays_index(), upper, "-inf", start=0, num=limit + 1, withscores=True
        )
        ids = [room_id.decode() for room_id, _ in found[:limit]]
        return ids, int(found[limit - 1][1]) if len(found) > limit else None

    async def forget_lapsed(self, room_ids: list[str]) -> None:
        """Index entries whose replay has expired leave the index (lazily)."""
        if room_ids:
            await self._redis.zrem(self._keys.replays_index(), *room_ids)
