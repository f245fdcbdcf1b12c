"""The room channel's Redis side: one script call per client action (chat, pin,
moderation), the snapshot, likes and presence."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from live.realtime.protocol import ChannelError
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.rooms.model import Room
from live.settings import Settings

# A resume replays at most this many events; further behind, a fresh snapshot is cheaper.
MAX_RESUME_EVENTS = 5000

_REFUSALS = {
    "room_ended": ("room_ended", "the room has ended"),
    "banned": ("forbidden", "you are banned from this room"),
    "muted": ("muted", "you are muted"),
    "slow_mode": ("rate_limited", "slow mode: wait before your next message"),
    "rate_limited": ("rate_limited", "too many messages: wait a moment"),
    "not_in_lineup": ("bad_message", "that product is not in this room's line-up"),
    "not_found": ("bad_message", "no such product"),
    "not_pinned": ("bad_message", "nothing is pinned"),
    "staff": ("forbidden", "hosts and admins cannot be muted or banned"),
    "no_address": ("bad_message", "that user has no known address in this room"),
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _refusal(code: str, retry_ms: Any = None) -> ChannelError:
    error, message = _REFUSALS.get(code, ("bad_message", code))
    extra = {"retry_after_ms": int(retry_ms)} if retry_ms else {}
    return ChannelError(error, message, **extra)


@dataclass(frozen=True)
class Snapshot:
    seq: int
    epoch: str
    recovered: bool
    # Missed events (recovered) or the latest chat events, oldest first, as JSON bytes.
    events: list[bytes]
    pinned: Any
    likes: int
    viewers: int
    slow_mode: int
    room: Room


class ChannelStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._settings = settings
        self._maxlen = settings.realtime.history_min_events

    def _event_keys(self, room_id: str) -> list[str]:
        k = self._keys
        return [k.room_seq(room_id), k.room_history(room_id), k.room_channel(room_id)]

    async def snapshot(
        self,
        room_id: str,
        user_id: str | None,
        since: int | None,
        epoch: str,
        address: str = "",
        staff: bool = False,
    ) -> Snapshot | str:
        """The room's state for a new connection, or "not_found" / "banned"."""
        k = self._keys
        keys = [
            k.room_seq(room_id),
            k.room_epoch(room_id),
            k.room_history(room_id),
            k.room(room_id),
            k.room_chat(room_id),
            k.room_pinned(room_id),
            k.room_likes(room_id),
            k.room_presence(room_id),
            k.room_moderation(room_id),
            k.room_banned(room_id),
            k.room_banned_ips(room_id),
            k.room_addresses(room_id),
        ]
        args = [
            "" if since is None else since,
            epoch,
            secrets.token_hex(8),
            self._settings.chat.snapshot_len,
            user_id or "",
            MAX_RESUME_EVENTS,
            address,
            "1" if staff else "0",
        ]
        reply = await self._scripts.call("snapshot", keys, args)
        status = _text(reply[0])
        if status != "ok":
            return status
        _, seq, epoch_id, recovered, events, pinned, likes, viewers, slow_mode = reply[:9]
        fields = reply[9:]
        room = Room.from_hash(dict(zip(fields[::2], fields[1::2], strict=True)))
        if not recovered:
            events = list(reversed(events))  # the chat list is newest first
        return Snapshot(
            seq=int(seq),
            epoch=_text(epoch_id),
            recovered=bool(recovered),
            events=list(events),
            pinned=orjson.loads(pinned) if pinned else None,
            likes=int(likes),
            viewers=int(viewers),
            slow_mode=int(slow_mode),
            room=room,
        )

    async def chat(
        self,
        room_id: str,
        user_id: str,
        name: str,
        text: str,
        msg_id: str,
        staff: bool,
        role: str = "viewer",
        address: str = "",
    ) -> int:
        """Post a chat message; its seq, or `ChannelError`."""
        k = self._keys
        chat = self._settings.chat
        keys = [
            *self._event_keys(room_id),
            k.room(room_id),
            k.room_chat(room_id),
            k.room_moderation(room_id),
            k.room_muted(room_id),
            k.room_banned(room_id),
            k.room_chat_rate(room_id, user_id),
            k.room_slow(room_id, user_id),
            k.room_staff(room_id),
            k.room_banned_ips(room_id),
            k.room_muted_ips(room_id),
        ]
        args = [
            user_id,
            name,
            text,
            msg_id,
            "1" if staff else "0",
            chat.rate_count,
            int(chat.rate_window_s * 1000),
            self._maxlen,
            chat.snapshot_len,
            role,
            address,
        ]
        code, value = await self._scripts.call("chat", keys, args)
        if _text(code) != "ok":
            raise _refusal(_text(code), value)
        return int(value)

    async def pin(self, room_id: str, sku: str | None) -> int:
        """Pin `sku` (None: unpin); the event's seq, or `ChannelError`."""
        k = self._keys
        keys = [
            *self._event_keys(room_id),
            k.room(room_id),
            k.room_lineup(room_id),
            k.room_pinned(room_id),
            k.room_cards(room_id),
        ]
        args = ["unpin" if sku is None else "pin", sku or "", self._maxlen]
        reply = await self._scripts.call("pin", keys, args)
        if _text(reply[0]) != "ok":
            raise _refusal(_text(reply[0]))
        return int(reply[1])

    async def moderate(
        self, room_id: str, action: str, subject: str, seconds: int = 0, scope: str = "user"
    ) -> None:
        """delete_chat (subject: msg id), mute / ban / unmute / unban (user id; scope "ip"
        also takes the user's address), slow_mode (seconds)."""
        k = self._keys
        keys = [
            *self._event_keys(room_id),
            k.room(room_id),
            k.room_chat(room_id),
            k.room_moderation(room_id),
            k.room_muted(room_id),
            k.room_banned(room_id),
            k.room_staff(room_id),
            k.room_banned_ips(room_id),
            k.room_muted_ips(room_id),
            k.room_addresses(room_id),
        ]
        reply = await self._scripts.call(
            "moderate", keys, [action, subject, seconds, self._maxlen, scope]
        )
        if _text(reply[0]) != "ok":
            raise _refusal(_text(reply[0]))

    async def add_likes(self, room_id: str, count: int) -> int:
        k = self._keys
        keys = [k.room_likes(room_id), k.room_channel(room_id)]
        return int(await self._scripts.call("likes", keys, [count]))

    async def report_presence(self, room_id: str, process_id: str, count: int, ttl_ms: int) -> int:
        """Record this process's connections in the room; the room's viewer total."""
        k = self._keys
        keys = [k.room_presence(room_id), k.room_peak(room_id), k.room_channel(room_id)]
        keep_ms = self._settings.rooms.idle_retention_s * 1000
        total, _peak = await self._scripts.call(
            "presence", keys, [process_id, count, ttl_ms, keep_ms]
        )
        return int(total)

    async def viewer_counts(self, room_ids: list[str]) -> list[int]:
        """Viewer totals of several rooms, in one pipeline."""
        if not room_ids:
            return []
        scripts = self._scripts
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in room_ids:
                scripts.queue(pipe, "presence_read", [self._keys.room_presence(room_id)], [])
            counts = await pipe.execute()
        return [int(c) for c in counts]

    async def expire_room(self, room_id: str) -> None:
        """Give the channel's keys the ended room's retention."""
        ttl = self._settings.rooms.ended_retention_s
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in self._keys.room_channel_keys(room_id):
                pipe.expire(key, ttl)
            await pipe.execute()
