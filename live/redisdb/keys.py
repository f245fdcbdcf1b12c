"""Every Redis key and channel name, in one place.

All keys of one room (its record, history, presence, sales, orders, idempotency keys)
share the hash tag `{r:<room_id>}`, so a room's scripts touch one Redis Cluster slot.
Lifetimes are listed in docs/redis-keys.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    # --- global ---------------------------------------------------------------
    def product(self, sku: str) -> str:
        return f"{self.prefix}:product:{sku}"

    def products_index(self) -> str:
        return f"{self.prefix}:products"

    def rooms_index(self) -> str:
        """Sorted set of all rooms, scored by creation time (ms)."""
        return f"{self.prefix}:rooms"

    def live_rooms_index(self) -> str:
        """Sorted set of rooms whose host is publishing, scored by start time (ms)."""
        return f"{self.prefix}:rooms:live"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}"

    def rate(self, scope: str, subject: str) -> str:
        return f"{self.prefix}:rate:{scope}:{subject}"

    # --- per room (one hash tag) ----------------------------------------------
    def room_tag(self, room_id: str) -> str:
        return f"{self.prefix}:{{r:{room_id}}}"

    def room(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:room"

    def room_lineup(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:lineup"

    def room_seq(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:seq"

    def room_epoch(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:epoch"

    def room_history(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:history"

    def room_channel(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:events"

    def room_media_owner(self, room_id: str) -> str:
        """The internal address of the process holding the room's media (TTL, heartbeat)."""
        return f"{self.room_tag(room_id)}:media_owner"
