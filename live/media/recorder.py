"""One part of a room's replay, recorded as it is forwarded, off the event loop.

The relay hands each forwarded frame to `PartRecorder.write`: one put on a thread-safe
queue, nothing else on the event loop. The recorder's own thread takes frames off the
queue and muxes them (`live.media.muxer`); PyAV writes with the GIL released. A part
starts with its first video keyframe (audio before it is kept, a little) and ends when
the publisher leaves this process (`close`). Should the disk fall behind, frames beyond
`MAX_QUEUED` are dropped from the recording (counted), never held up in forwarding.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from live import metrics
from live.media.muxer import CONTAINERS, Muxer, picture_size

log = logging.getLogger("live.media")

# About a minute of 30 fps video and 50 packets/s of audio waiting for the disk.
MAX_QUEUED = 5000
# Audio kept from before the part's first video keyframe: 2 s.
EARLY_AUDIO = 100

Frame = tuple[str, int, bool, bytes]


@dataclass(frozen=True)
class PartSummary:
    """What a finished part holds (for the replay's record)."""

    part: int
    path: str
    codec: str
    video_frames: int
    audio_frames: int
    first_ms: float | None
    last_ms: float
    bytes: int
    dropped: int
    error: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "part": self.part,
            "file": Path(self.path).name,
            "codec": self.codec,
            "video_frames": self.video_frames,
            "audio_frames": self.audio_frames,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "bytes": self.bytes,
            "dropped": self.dropped,
            "error": self.error,
        }


class PartRecorder:
    """Records one part: `write` from the event loop, the muxing on its own thread."""

    def __init__(
        self,
        part: int,
        path: Path,
        codec: str,
        on_done: Callable[[PartSummary], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.part = part
        self.path = path
        self.codec = codec
        self.content_type = CONTAINERS[codec].content_type
        self.dropped = 0
        self._queue: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        self._on_done = on_done
        self._loop = loop
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"recorder-{path.name}", daemon=True)
        self._thread.start()

    def write(self, kind: str, position: int, keyframe: bool, data: bytes) -> None:
        """Queue one forwarded frame (event loop; never blocks)."""
        if self._closed:
            return
        if self._queue.qsize() >= MAX_QUEUED:
            self.dropped += 1
            metrics.RECORDING_DROPPED.inc()
            return
        self._queue.put((kind, position, keyframe, data))

    def close(self) -> None:
        """No more frames: the thread writes what is queued, closes the file, reports."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread (tests and shutdown)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        muxer = Muxer(self.path, self.codec)
        error = ""
        try:
            self._mux_until_closed(muxer)
        except Exception as exc:
            # A bad frame or a full disk ends this part's recording, never the forwarding.
            log.exception("recording failed", extra={"path": str(self.path)})
            error = repr(exc)
            self._drain()
        finally:
            try:
                muxer.close()
            except Exception as exc:
                error = error or repr(exc)
        size = self.path.stat().st_size if self.path.exists() else 0
        stats = muxer.stats
        summary = PartSummary(
            self.part,
            str(self.path),
            self.codec,
            stats.video_frames,
            stats.audio_frames,
            stats.first_ms,
            stats.last_ms,
            size,
            self.dropped,
            error,
        )
        metrics.RECORDED_BYTES.inc(size)
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._on_done, summary)

    def _mux_until_closed(self, muxer: Muxer) -> None:
        early: list[Frame] = []
        while (frame := self._queue.get()) is not None:
            kind, position, keyframe, data = frame
            if not muxer.opened:
                if kind == "audio":
                    early = [*early[-EARLY_AUDIO + 1 :], frame]
                    continue
                size = picture_size(self.codec, data) if keyframe else None
                if size is None:
                    continue  # a part begins with a keyframe that says its picture size
                muxer.open(size)
                for kept in early:
                    muxer.write(*kept)
                early = []
            muxer.write(kind, position, keyframe, data)

    def _drain(self) -> None:
        while self._queue.get() is not None:
            pass
