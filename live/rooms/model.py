"""The room record as stored and as answered. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Room ids are `r_` and URL-safe letters (live.auth.new_id); anything else is no room.
ROOM_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

# Live rooms sort above all others in the rooms index: their score is raised by this much.
LIVE_BOOST = 4_000_000_000_000_000
# Scores are creation ms * 1000 + a tiebreak, unique and exact in a double.
SCORE_SCALE = 1000


@dataclass(frozen=True)
class Room:
    room_id: str
    title: str
    host_name: str
    host_user_id: str
    status: str  # "scheduled" (until the host first goes live), "open" or "ended"
    live: bool
    created_at: int
    ended_at: int | None = None
    score: int = 0
    host_id: str = ""
    # False: the show opted out of recording (`"record": false` at creation).
    record: bool = True
    description: str = ""
    starts_at: int | None = None  # epoch ms of a scheduled show

    @classmethod
    def from_hash(cls, data: dict[bytes, bytes]) -> Room:
        text = {k.decode(): v.decode() for k, v in data.items()}
        return cls(
            room_id=text["room_id"],
            title=text["title"],
            host_name=text["host_name"],
            host_user_id=text["host_user_id"],
            status=text.get("status", "open"),
            live=text.get("live") == "1",
            created_at=int(text["created_at"]),
            ended_at=int(text["ended_at"]) if text.get("ended_at") else None,
            score=int(text.get("score", "0")),
            host_id=text.get("host_id", ""),
            record=text.get("record", "1") != "0",
            description=text.get("description", ""),
            starts_at=int(text["starts_at"]) if text.get("starts_at") else None,
        )

    def to_hash(self) -> dict[str, str]:
        data = {
            "room_id": self.room_id,
            "title": self.title,
            "host_name": self.host_name,
            "host_user_id": self.host_user_id,
            "status": self.status,
            "live": "1" if self.live else "0",
            "created_at": str(self.created_at),
            "score": str(self.score),
            "host_id": self.host_id,
            "record": "1" if self.record else "0",
        }
        if self.ended_at is not None:
            data["ended_at"] = str(self.ended_at)
        if self.description:
            data["description"] = self.description
        if self.starts_at is not None:
            data["starts_at"] = str(self.starts_at)
        return data

    def to_public(self, viewers: int = 0) -> dict[str, Any]:
        """The room as the API answers it."""
        return {
            "room_id": self.room_id,
            "title": self.title,
            "host_name": self.host_name,
            "host_id": self.host_id or None,
            "status": self.status,
            "live": self.live,
            "viewers": viewers,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
            "record": self.record,
            "description": self.description,
            "starts_at": self.starts_at,
        }
