"""Replay moments in the search: the seam the replays (issue 15) feed.

A moment is one chapter of a replay: the product shown (pinned, on sale, auctioned) or a
question answered, with what the host said while it was on screen (their chat answers and
the questions they answered). Whoever writes a replay's chapters hands them here; each
becomes a `moment` document whose url opens the replay at that time (`/r/<room>?t=<s>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from live.discovery.model import Document
from live.discovery.store import SearchStore
from live.rooms.model import Room


@dataclass(frozen=True)
class Chapter:
    at_ms: int  # the position in the recording
    type: str  # pin, sale, auction or answer (the replay's chapter types)
    title: str  # the product's title, or the question
    sku: str | None = None
    said: tuple[str, ...] = ()  # the host's answers and answered questions meanwhile


def moment_document(room: Room, chapter: Chapter) -> Document:
    extra: dict[str, object] = {
        "room_id": room.room_id,
        "at_ms": chapter.at_ms,
        "room_title": room.title,
        "chapter": chapter.type,
    }
    if chapter.sku is not None:
        extra["sku"] = chapter.sku
    return Document(
        kind="moment",
        doc_id=f"{room.room_id}:{chapter.at_ms}",
        title=chapter.title,
        body=" ".join(chapter.said),
        url=f"/r/{room.room_id}?t={chapter.at_ms // 1000}",
        at_ms=room.ended_at or room.created_at,
        extra=extra,
    )


class MomentIndexer:
    def __init__(self, search: SearchStore) -> None:
        self._search = search

    async def chapters(self, room: Room, chapters: Sequence[Chapter]) -> None:
        """Make a replay's chapters searchable (again: a put replaces the same moment)."""
        await self._search.put_many([moment_document(room, c) for c in chapters])

    async def forget(self, room_id: str, at_ms: Sequence[int]) -> None:
        """A replay removed: its moments leave the search."""
        for position in at_ms:
            await self._search.remove("moment", f"{room_id}:{position}")
