"""PURE: a replay's record as stored, its parts, how they join, and the API's view of it.

A replay is recorded in *parts*: one per stretch of a publisher in one origin process (a
takeover in the same process continues the part; a pause, or a takeover on another worker
or node, begins a new one). Every part is written on the room's one media clock, so parts
of the same codec join into one file by copying their packets (`live.media.joiner`); a
change of codec starts another *run*, a file of its own (a `<video>` cannot switch codecs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

# `part-<n>.<ext>` as recorded, `replay-<n>.<ext>` as joined: nothing else is served.
FILE_RE = re.compile(r"^(part|replay)-[0-9]{1,6}\.(webm|mp4)$")
CHAPTER_TYPES = ("pin", "sale", "auction", "answer")
# What the host said in chat while live, kept in the chapters' list for the search's
# moments (live.discovery.moments); not a chapter of the replay's timeline.
SAID = "said"
PUBLIC_STATUS = {"recording": "recording", "ready": "ready"}


@dataclass(frozen=True)
class Part:
    """One recorded part, as its recorder reported it (or as far as it got)."""

    part: int
    codec: str
    done: bool
    file: str
    video_frames: int
    first_ms: float | None
    last_ms: float

    @classmethod
    def from_json(cls, raw: bytes | str) -> Part:
        data = orjson.loads(raw)
        return cls(
            part=int(data["part"]),
            codec=str(data.get("codec", "vp8")),
            done=data.get("state") == "done",
            file=str(data.get("file") or ""),
            video_frames=int(data.get("video_frames", 0)),
            first_ms=data.get("first_ms"),
            last_ms=float(data.get("last_ms", 0.0)),
        )


@dataclass(frozen=True)
class Run:
    """Consecutive parts of one codec: one file of the replay."""

    codec: str
    parts: tuple[Part, ...]

    @property
    def at_ms(self) -> float:
        return min(p.first_ms for p in self.parts if p.first_ms is not None)

    @property
    def end_ms(self) -> float:
        return max(p.last_ms for p in self.parts)


def part_file(part: int, extension: str) -> str:
    return f"part-{part}.{extension}"


def replay_file(run: int, extension: str) -> str:
    return f"replay-{run}.{extension}"


def runs_of(parts: list[Part]) -> list[Run]:
    """The parts holding video, in order, grouped into runs of one codec."""
    runs: list[Run] = []
    for part in sorted(parts, key=lambda p: p.part):
        if not part.file or not part.video_frames or part.first_ms is None:
            continue
        if runs and runs[-1].codec == part.codec:
            runs[-1] = Run(part.codec, (*runs[-1].parts, part))
        else:
            runs.append(Run(part.codec, (part,)))
    return runs


def parts_of(fields: dict[str, bytes]) -> list[Part]:
    return [Part.from_json(v) for k, v in fields.items() if k.startswith("part:")]


def chapter_view(raw: bytes | str) -> dict[str, Any]:
    """A stored chapter as the API shows it: `at_ms` a whole number of ms."""
    chapter: dict[str, Any] = orjson.loads(raw)
    chapter["at_ms"] = round(float(chapter["at_ms"]))
    return chapter


def replay_view(
    room_id: str, fields: dict[str, bytes], chapters: list[dict[str, Any]], file_url: str
) -> dict[str, Any]:
    """`GET /api/rooms/{room_id}/replay`'s answer from the stored record."""
    text = {k: v.decode() for k, v in fields.items() if not k.startswith("part:")}
    status = PUBLIC_STATUS.get(text.get("status", ""), "none")
    view: dict[str, Any] = {
        "room_id": room_id,
        "status": status,
        "duration_ms": None,
        "url": None,
        "content_type": None,
        # Only the timeline's chapters: the host's `said` lines are the search's.
        "chapters": [c for c in chapters if c.get("type") in CHAPTER_TYPES]
        if status != "none"
        else [],
        "title": text.get("title") or None,
        "host_name": text.get("host_name") or None,
        "started_at": int(text["started_at"]) if text.get("started_at") else None,
    }
    if status == "ready":
        runs = orjson.loads(text.get("runs", "[]"))
        view.update(
            duration_ms=int(float(text.get("duration_ms", "0"))),
            url=f"{file_url}/{text['file']}",
            content_type=text.get("content_type"),
            codec=text.get("codec"),
            ready_at=int(text["ready_at"]) if text.get("ready_at") else None,
            parts=[{**run, "url": f"{file_url}/{run['file']}"} for run in runs],
        )
    return view
