"""Live rooms' pictures: at the room's origin, one keyframe at most every `[media]
thumbnail_s` is copied from the publisher's frames and decoded in a thread.

The forwarding path only hands keyframes to `offer`, which is one dict lookup and a
comparison unless the room's picture is due; the decoding (PyAV) runs in one thread shared
by every room of the process, so a slow decode never holds the event loop or a frame.
Viewers never cause a decode: the picture is made once per room and kept in Redis, where
every worker of every node reads it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor

from live.clock import Clock
from live.media.stills import still_jpeg
from live.rooms.thumbnails import ThumbnailStore
from live.settings import MediaSettings

log = logging.getLogger("live.media")


class Thumbnailer:
    def __init__(self, settings: MediaSettings, store: ThumbnailStore, clock: Clock) -> None:
        self._every = settings.thumbnail_s
        self._width = settings.thumbnail_width
        self._store = store
        self._clock = clock
        self._last: dict[str, float] = {}  # room -> when its last decode began (monotonic)
        self._busy: set[str] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumbnails")
        self._tasks: set[asyncio.Task[None]] = set()
        self.made = 0  # pictures stored by this process (for tests and metrics)

    def due(self, room_id: str, now: float | None = None) -> bool:
        """Whether the room's next keyframe should become its picture."""
        if room_id in self._busy:
            return False
        now = time.monotonic() if now is None else now
        return now - self._last.get(room_id, -math.inf) >= self._every

    def offer(self, room_id: str, codec: str, keyframe: bytes) -> None:
        """A keyframe the room's publisher sent: decoded if the picture is due."""
        now = time.monotonic()
        if not self.due(room_id, now):
            return
        self._last[room_id] = now
        self._busy.add(room_id)
        work = asyncio.get_running_loop().run_in_executor(
            self._executor, still_jpeg, codec, keyframe, self._width
        )
        task = asyncio.ensure_future(self._keep(room_id, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _keep(self, room_id: str, work: asyncio.Future[bytes | None]) -> None:
        try:
            jpeg = await work
            if jpeg:
                await self._store.put(room_id, jpeg, self._clock.now_ms())
                self.made += 1
        except Exception:
            log.exception("thumbnail failed", extra={"room_id": room_id})
        finally:
            self._busy.discard(room_id)

    def forget(self, room_id: str) -> None:
        """The room has no media here any more."""
        self._last.pop(room_id, None)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
