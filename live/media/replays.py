"""From an ended room's recorded parts to its replay, and the replays' files on disk.

`ReplayFinisher.finish` runs when a room ends (a room-ended listener, in whichever process
ended it) and again, lazily, when a replay is asked for while still "recording" after its
room ended (the finisher that was at work died): one finisher at a time (a claim in
Redis). It waits for the origin(s) to close their parts, joins the parts of each codec into
one file on a thread (`live.media.joiner`), and marks the replay ready; then it tells its
`on_ready` listeners the replay's chapters (the search's moments) and keeps a still of the
recording as the ended room's picture (`live.media.stills`). `ReplayFiles` knows
where files live (`[media] recordings_dir/<room_id>/`, a directory every node shares) and
removes those of replays that were deleted or outlived `[media] replay_retention_days`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from live import metrics
from live.clock import Clock
from live.media.joiner import join, scan
from live.media.muxer import CONTAINERS
from live.media.stills import recording_still
from live.replay.rules import FILE_RE, Part, Run, replay_file, runs_of
from live.replay.store import ChaptersListener, ReplayChapters, ReplayStore
from live.rooms.model import ROOM_ID_RE
from live.settings import MediaSettings

log = logging.getLogger("live.media")

# How long a finisher waits for the origins to close their parts before it takes the
# files as they are (an origin that died leaves its part open).
PART_WAIT_S = 15.0
POLL_S = 0.2
# The finisher's claim: longer than joining the longest show takes.
FINISH_CLAIM_MS = 600_000
# Files of a room with no replay record are removed once untouched this long.
ORPHAN_AGE_S = 86400.0
SWEEP_EVERY_S = 3600.0


class ReplayFiles:
    """Where the replays' files are, and their removal."""

    def __init__(self, media: MediaSettings) -> None:
        self.root = Path(media.recordings_dir)

    def room_dir(self, room_id: str) -> Path:
        if not ROOM_ID_RE.match(room_id):
            raise ValueError(f"not a room id: {room_id!r}")
        return self.root / room_id

    def path(self, room_id: str, name: str) -> Path | None:
        """The file `name` of a room's replay, None for any other name."""
        if not FILE_RE.match(name):
            return None
        return self.room_dir(room_id) / name

    async def remove(self, room_id: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self.room_dir(room_id), True)

    def _rooms_on_disk(self) -> list[tuple[str, float]]:
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            if entry.is_dir() and ROOM_ID_RE.match(entry.name):
                newest = max((p.stat().st_mtime for p in entry.iterdir()), default=0.0)
                found.append((entry.name, max(newest, entry.stat().st_mtime)))
        return found

    async def sweep(self, store: ReplayStore) -> int:
        """Remove the files of rooms whose replay record is gone (deleted or expired);
        the number of rooms swept."""
        swept = 0
        now = time.time()
        for room_id, touched in await asyncio.to_thread(self._rooms_on_disk):
            if now - touched < ORPHAN_AGE_S:
                continue
            record = await store.get(room_id)
            if record is None or record.status == "deleted":
                await self.remove(room_id)
                swept += 1
        return swept


class ReplayFinisher:
    """Turns an ended room's recorded parts into its replay (see the module docstring)."""

    def __init__(
        self,
        store: ReplayStore,
        files: ReplayFiles,
        clock: Clock,
        still_width: int,
        on_ready: Sequence[ChaptersListener] = (),
        on_lapsed: Sequence[ChaptersListener] = (),
    ) -> None:
        self._store = store
        self._files = files
        self._clock = clock
        self._still_width = still_width
        self._on_ready = on_ready
        self._on_lapsed = on_lapsed
        self._tasks: set[asyncio.Task[None]] = set()
        self.part_wait_s = PART_WAIT_S

    async def room_ended(self, room_id: str) -> None:
        """A room-ended listener: finish in the background (the end answers at once)."""
        self.finish_soon(room_id)

    def finish_soon(self, room_id: str) -> None:
        task = asyncio.ensure_future(self._finish_logged(room_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish_logged(self, room_id: str) -> None:
        try:
            await self.finish(room_id)
        except Exception:
            log.exception("could not finish the replay", extra={"room_id": room_id})

    async def finish(self, room_id: str) -> None:
        if not await self._store.claim_finish(room_id, FINISH_CLAIM_MS):
            return
        parts = await self._closed_parts(room_id)
        runs = runs_of(parts)
        if not runs:
            await self._store.mark_empty(room_id)
            metrics.RECORDING_PARTS.labels("empty").inc()
            return
        files = [
            await asyncio.to_thread(self._write_run, room_id, i, run) for i, run in enumerate(runs)
        ]
        first = files[0]
        still = await asyncio.to_thread(self._still, room_id, first["file"], first["codec"])
        ready = await self._store.mark_ready(
            room_id,
            {
                "file": first["file"],
                "duration_ms": round(max(f["end_ms"] for f in files)),
                "content_type": first["content_type"],
                "codec": first["codec"],
                "runs": files,
                "ready_at": self._clock.now_ms(),
            },
            still,
        )
        if not ready:
            return  # deleted while it was being finished
        log.info("replay ready", extra={"room_id": room_id, "files": len(files)})
        chapters = await self._store.with_chapters(room_id)
        for listener in self._on_ready:
            try:
                await listener(chapters)
            except Exception:
                log.exception("a replay-ready listener failed", extra={"room_id": room_id})

    def _still(self, room_id: str, name: str, codec: str) -> bytes:
        """The ended room's picture: a keyframe of the recording, decoded once (a thread)."""
        path = self._files.room_dir(room_id) / name
        return recording_still(path, codec, self._still_width) or b""

    async def _closed_parts(self, room_id: str) -> list[Part]:
        """The replay's parts once every one is closed, or as they are after PART_WAIT_S
        (a part still open has what its file holds: its origin died)."""
        deadline = time.monotonic() + self.part_wait_s
        while True:
            record = await self._store.get(room_id)
            parts = record.parts if record is not None else []
            if all(p.done for p in parts) or time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_S)
        return [p if p.done else await asyncio.to_thread(self._scanned, room_id, p) for p in parts]

    def _scanned(self, room_id: str, part: Part) -> Part:
        extension = CONTAINERS[part.codec].extension
        name = f"part-{part.part}.{extension}"
        stats = scan(self._files.room_dir(room_id) / name, part.codec)
        frames, first, last = stats.video_frames, stats.first_ms, stats.last_ms
        return Part(part.part, part.codec, True, name, frames, first, last)

    def _write_run(self, room_id: str, index: int, run: Run) -> dict[str, Any]:
        """One file of the replay: a lone part as it is, several joined (on a thread)."""
        container = CONTAINERS[run.codec]
        folder = self._files.room_dir(room_id)
        name = run.parts[0].file
        if len(run.parts) > 1:
            name = replay_file(index + 1, container.extension)
            join([folder / p.file for p in run.parts], run.codec, folder / name)
        metrics.RECORDING_PARTS.labels("ready").inc(len(run.parts))
        return {
            "file": name,
            "codec": run.codec,
            "content_type": container.content_type,
            "at_ms": round(run.at_ms),
            "end_ms": run.end_ms,
            "duration_ms": round(run.end_ms - run.at_ms),
        }

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The periodic sweep of lapsed replays' files, and finishing work in flight."""
        sweeper = asyncio.create_task(self._sweep_forever())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self._files.sweep(self._store)
                await self.prune_index()
            except Exception:
                log.exception("replay file sweep failed")
            await asyncio.sleep(SWEEP_EVERY_S)

    async def prune_index(self, page: int = 200) -> int:
        """Drop index entries whose replay record has expired (and tell the `on_lapsed`
        listeners: the search forgets their moments); how many were dropped."""
        dropped = 0
        cursor: int | None = None
        while True:
            room_ids, cursor = await self._store.ready(page, cursor)
            lapsed = []
            for room_id in room_ids:
                record = await self._store.get(room_id)
                if record is None or record.status != "ready":
                    lapsed.append(room_id)
            await self._store.forget_lapsed(lapsed)
            for room_id in lapsed:
                for listener in self._on_lapsed:
                    await listener(ReplayChapters(room_id, "", 0, []))
            dropped += len(lapsed)
            if cursor is None:
                return dropped
