"""The origin's side of replays: each live room's media clock and the part being recorded.

When a publisher's WHIP is answered here (`publisher_starting`), the room's clock comes
from Redis (its start, and Redis's time for this process's offset to it) and, when the
show is recorded, a new part begins unless this process already records one in the same
codec (a takeover in the same process continues it). While the room is live, `tick` tells
Redis where the last video frame forwarded was, every second: durable room events are
stamped with it (`_lib.lua`). When the publisher leaves (`publisher_left`) the part is
closed and the clock stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Iterable

from live.media.mediaclock import RoomClock
from live.media.muxer import CONTAINERS
from live.media.recorder import PartRecorder, PartSummary
from live.media.relay import RoomRelay
from live.media.replays import ReplayFiles
from live.redisdb.errors import RedisError
from live.replay.rules import part_file
from live.replay.store import ReplayStore

log = logging.getLogger("live.media")

TICK_EVERY_S = 1.0


def _mono_ms() -> float:
    return time.monotonic() * 1000


class Recordings:
    def __init__(self, store: ReplayStore, files: ReplayFiles) -> None:
        self._store = store
        self._files = files
        # Rooms whose show is recorded (the chapters' lifetime goes with the clock).
        self._recorded: set[str] = set()
        self._next_tick: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._recorders: set[PartRecorder] = set()

    async def publisher_starting(self, relay: RoomRelay, codec: str) -> None:
        """A publisher sending video in `codec` takes the room here (see the module)."""
        room_id = relay.room_id
        current = relay.recorder
        continuing = current is not None and current.codec == codec
        if current is not None and not continuing:
            self._close(relay)
        sent = _mono_ms()
        try:
            begin = await self._store.begin(room_id, not continuing, codec)
        except RedisError:
            # No clock start from Redis and no part: forwarding goes on, unrecorded.
            log.exception("could not begin the replay's part", extra={"room_id": room_id})
            if relay.clock is None:
                relay.clock = RoomClock(time.time() * 1000 - _mono_ms(), None)
            return
        answered = _mono_ms()
        if relay.clock is None:
            relay.clock = RoomClock.measured(begin.redis_now_ms, sent, answered, begin.t0)
        else:
            relay.clock.observe(begin.redis_now_ms, sent, answered)
        if begin.recorded:
            self._recorded.add(room_id)
        else:
            self._recorded.discard(room_id)
        self._next_tick[room_id] = 0.0
        if begin.part:
            extension = CONTAINERS[codec].extension
            path = self._files.room_dir(room_id) / part_file(begin.part, extension)
            on_done = functools.partial(self._part_done, room_id)
            recorder = PartRecorder(begin.part, path, codec, on_done, asyncio.get_running_loop())
            self._recorders.add(recorder)
            relay.recorder = recorder

    async def publisher_left(self, relay: RoomRelay) -> None:
        """The room's publisher is gone from here: the part ends, the clock stops."""
        self._close(relay)
        self._next_tick.pop(relay.room_id, None)
        try:
            await self._store.clock_stop(relay.room_id)
        except RedisError:
            log.exception("could not stop the media clock", extra={"room_id": relay.room_id})

    def _close(self, relay: RoomRelay) -> None:
        if relay.recorder is not None:
            relay.recorder.close()
            relay.recorder = None

    async def tick(self, relays: Iterable[RoomRelay]) -> None:
        """Each live room's last video frame forwarded, to Redis, once a second."""
        now = _mono_ms()
        for relay in list(relays):
            clock = relay.clock
            due = self._next_tick.get(relay.room_id)
            if relay.publisher is None or clock is None or due is None or now < due:
                continue
            if clock.last_video_ms is None:
                continue
            self._next_tick[relay.room_id] = now + TICK_EVERY_S * 1000
            unsaved = None if clock.t0_saved else clock.t0
            held, redis_now = await self._store.clock_tick(
                relay.room_id,
                clock.last_video_ms,
                now - clock.last_video_at,
                unsaved,
                relay.room_id in self._recorded,
            )
            clock.observe(redis_now, now, _mono_ms())
            if held is not None and (unsaved is not None or held != clock.t0):
                clock.rebase(held)

    def _part_done(self, room_id: str, summary: PartSummary) -> None:
        """On the event loop, from the recorder's thread: the part's file is complete."""
        self._recorders = {r for r in self._recorders if str(r.path) != summary.path}
        log.info(
            "replay part recorded",
            extra={"room_id": room_id, "part": summary.part, "frames": summary.video_frames},
        )
        done = self._store.part_done(room_id, summary.part, summary.to_json())
        task = asyncio.ensure_future(done)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Shutdown: every part's thread has written its file and Redis knows it."""
        recorders = list(self._recorders)
        for recorder in recorders:
            recorder.close()
        for recorder in recorders:
            await asyncio.to_thread(recorder.join, 30)
        # Their reports reach the loop through call_soon_threadsafe: let them run.
        await asyncio.sleep(0)
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)
