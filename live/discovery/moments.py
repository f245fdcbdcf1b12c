"""Replay moments in the search: each chapter of a ready replay, found by what it shows.

A moment is one chapter of a replay: the product shown (pinned, on sale, auctioned) or a
question answered, with what the host said while it was on screen (the questions answered
and their answers, and the host's own chat lines). The replay finisher hands a ready
replay's chapters here (`replay_ready`); the replay's deletion, or its lapse, takes them
out (`replay_deleted`). Each becomes a `moment` document whose url opens the replay at
that time (`/r/<room>?t=<s>`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live.discovery.model import Document
from live.discovery.store import SearchStore
from live.replay.rules import SAID
from live.replay.store import ReplayChapters
from live.rooms.model import Room

# Chapters that show a product: an answer given meanwhile is part of what was said.
PRODUCT_CHAPTERS = ("pin", "sale", "auction")
# The most lines one moment says: a moment is a search document, kept small.
MAX_SAID = 200


@dataclass(frozen=True)
class Chapter:
    at_ms: int  # the position in the recording
    type: str  # pin, sale, auction or answer (the replay's chapter types)
    title: str  # the product's title, or the question
    sku: str | None = None
    said: tuple[str, ...] = ()  # the host's answers, answered questions and chat meanwhile


def chapters_of(stored: Sequence[Mapping[str, Any]]) -> list[Chapter]:
    """A replay's chapters as the replay store gives them (oldest first) as moments: a
    product's chapter says the answers given and the host's chat lines (`said` entries,
    not moments of their own) until the next product's chapter, an answer says itself
    (PURE)."""
    found: list[Chapter] = []
    said: list[list[str]] = []
    showing: int | None = None  # which of `found` is the product on screen
    for raw in stored:
        kind = str(raw["type"])
        if kind == SAID:
            if showing is not None and raw.get("text"):
                said[showing].append(str(raw["text"]))
            continue
        words = _answer_words(raw) if kind == "answer" else []
        if kind in PRODUCT_CHAPTERS:
            showing = len(found)
        elif showing is not None:
            said[showing].extend(words)
        found.append(Chapter(int(raw["at_ms"]), kind, str(raw.get("title") or ""), raw.get("sku")))
        said.append(words)
    return [
        Chapter(c.at_ms, c.type, c.title, c.sku, tuple(words[:MAX_SAID]))
        for c, words in zip(found, said, strict=True)
    ]


def _answer_words(raw: Mapping[str, Any]) -> list[str]:
    return [str(raw[field]) for field in ("question", "answer") if raw.get(field)]


def moment_document(room: Room, chapter: Chapter) -> Document:
    return moment_of(room.room_id, room.title, room.ended_at or room.created_at, chapter)


def moment_of(room_id: str, room_title: str, shown_at: int, chapter: Chapter) -> Document:
    """The chapter of a show (`shown_at`: when, epoch ms, for recency) as a search document."""
    extra: dict[str, object] = {
        "room_id": room_id,
        "at_ms": chapter.at_ms,
        "room_title": room_title,
        "chapter": chapter.type,
    }
    if chapter.sku is not None:
        extra["sku"] = chapter.sku
    return Document(
        kind="moment",
        # The type too: a pin and a sale opened on one frame are two moments.
        doc_id=f"{room_id}:{chapter.at_ms}:{chapter.type}",
        title=chapter.title,
        body=" ".join(chapter.said),
        url=f"/r/{room_id}?t={chapter.at_ms // 1000}",
        at_ms=shown_at,
        extra=extra,
    )


class MomentIndexer:
    def __init__(self, search: SearchStore) -> None:
        self._search = search

    async def replay_ready(self, replay: ReplayChapters) -> None:
        """A replay listener: the ready replay's chapters become moments."""
        docs = [
            moment_of(replay.room_id, replay.title, replay.ready_at, chapter)
            for chapter in chapters_of(replay.chapters)
        ]
        await self._search.put_many(docs)

    async def replay_deleted(self, replay: ReplayChapters) -> None:
        """A replay listener: the deleted (or lapsed) replay's moments leave the search:
        those of its chapters, and any this process's index holds (a lapsed replay's
        chapters are gone with it)."""
        room_id = replay.room_id
        ids = {f"{room_id}:{c.at_ms}:{c.type}" for c in chapters_of(replay.chapters)}
        prefix = "moment:"
        for key in self._search.index.keys_starting(f"{prefix}{room_id}:"):
            ids.add(key[len(prefix) :])
        await self.forget(sorted(ids))

    async def chapters(self, room: Room, chapters: Sequence[Chapter]) -> None:
        """Make a replay's chapters searchable (again: a put replaces the same moment)."""
        await self._search.put_many([moment_document(room, c) for c in chapters])

    async def forget(self, moment_ids: Sequence[str]) -> None:
        """A replay removed: its moments (`<room_id>:<at_ms>:<type>`) leave the search."""
        for moment_id in moment_ids:
            await self._search.remove("moment", moment_id)
