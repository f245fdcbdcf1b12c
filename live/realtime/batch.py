"""One room's events during one tick, coalesced and framed. Pure: no I/O.

Events arrive as the JSON bytes published on the room's channel; a frame is made by
joining them, so an event is never serialized again on its way out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Latest-value events: within a tick only the last of each key is kept.
LATEST_VALUE = frozenset({"stock", "viewers", "likes", "slow_mode", "lineup_stock"})


@dataclass(frozen=True)
class Event:
    raw: bytes
    type: str
    seq: int | None
    to: str | None

    @classmethod
    def parse(cls, raw: bytes, data: dict[str, Any]) -> Event:
        seq = data.get("seq")
        to = data.get("to")
        return cls(
            raw,
            str(data.get("type", "")),
            seq if isinstance(seq, int) else None,
            to if isinstance(to, str) else None,
        )


def frame(raws: list[bytes]) -> str:
    """A frame's text: a JSON array of already-encoded events."""
    return frame_bytes(raws).decode()


def frame_bytes(raws: list[bytes]) -> bytes:
    """`frame`, as UTF-8 bytes."""
    return b"[" + b",".join(raws) + b"]"


@dataclass
class RoomBatch:
    """Collects one room's events for one tick."""

    ordered: list[Event] = field(default_factory=list)
    latest: dict[tuple[str, str], Event] = field(default_factory=dict)
    personal: list[Event] = field(default_factory=list)

    def add(self, event: Event, data: dict[str, Any]) -> None:
        if event.to is not None:
            self.personal.append(event)
        elif event.type in LATEST_VALUE:
            key = (event.type, str(data.get("sale_id", "")))
            # Re-inserting moves the value to the end: the frame keeps arrival order.
            self.latest.pop(key, None)
            self.latest[key] = event
        else:
            self.ordered.append(event)

    def broadcast(self) -> list[Event]:
        """The events every connection of the room gets, oldest first."""
        return [*self.ordered, *self.latest.values()]

    @property
    def ends_room(self) -> bool:
        return any(e.type == "room_ended" for e in self.ordered)


def after(events: list[Event], seq: int) -> list[Event]:
    """`events` without the durable ones a connection already has (seq <= `seq`)."""
    return [e for e in events if e.seq is None or e.seq > seq]


# Personal events sent to this address reach the room's staff (hosts and admins).
TO_STAFF = "@staff"


def for_staff(event: Event) -> bool:
    """Personal events every staff connection also gets: orders, and questions."""
    return event.type == "order" or event.to == TO_STAFF


def personal_targets(event: Event, user_id: str | None, is_staff: bool) -> bool:
    """Whether a connection gets a personal event: its user's, and staff's (see for_staff)."""
    return event.to == user_id or (is_staff and for_staff(event))
