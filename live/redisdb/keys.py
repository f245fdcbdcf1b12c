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

    # --- room channel (live.realtime) --------------------------------------------
    def room_chat(self, room_id: str) -> str:
        """List of the latest chat events (JSON), newest first, for snapshots."""
        return f"{self.room_tag(room_id)}:chat"

    def room_pinned(self, room_id: str) -> str:
        """The pinned product card (JSON); absent when nothing is pinned."""
        return f"{self.room_tag(room_id)}:pinned"

    def room_likes(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:likes"

    def room_presence(self, room_id: str) -> str:
        """Hash: process id -> "<connections>:<expires ms>"; `_total` the last published."""
        return f"{self.room_tag(room_id)}:presence"

    def room_peak(self, room_id: str) -> str:
        """The room's peak viewer count (string integer)."""
        return f"{self.room_tag(room_id)}:peak"

    def room_moderation(self, room_id: str) -> str:
        """Hash of room-wide chat rules: `slow_mode` seconds."""
        return f"{self.room_tag(room_id)}:mod"

    def room_muted(self, room_id: str) -> str:
        """Sorted set: user id scored by the ms their mute ends."""
        return f"{self.room_tag(room_id)}:muted"

    def room_banned(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:banned"

    def room_chat_rate(self, room_id: str, user_id: str) -> str:
        return f"{self.room_tag(room_id)}:chatrate:{user_id}"

    def room_slow(self, room_id: str, user_id: str) -> str:
        return f"{self.room_tag(room_id)}:slow:{user_id}"

    def room_channel_keys(self, room_id: str) -> list[str]:
        """Every room-wide key of the channel layer (expired with the room)."""
        return [
            self.room_chat(room_id),
            self.room_pinned(room_id),
            self.room_likes(room_id),
            self.room_presence(room_id),
            self.room_peak(room_id),
            self.room_moderation(room_id),
            self.room_muted(room_id),
            self.room_banned(room_id),
        ]
