"""The room channel's messages: parsing what clients send, and the rules that need no I/O.

Pure: no asyncio, no Redis. Every refusal is a `ChannelError` carrying the contract's
websocket error code.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import orjson

from live.settings import RealtimeSettings, Settings
from live.text import clean_text

# Close codes of the contract.
CLOSE_UNAUTHORIZED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_UNKNOWN_ROOM = 4004
CLOSE_TOO_SLOW = 4008
CLOSE_ROOM_ENDED = 4009
CLOSE_TOO_LARGE = 1009
CLOSE_RESTARTING = 1012
# Too many connections from one address (`[limits] connections_per_ip`, over all workers).
CLOSE_TRY_LATER = 1013

STAFF_COMMANDS = frozenset(
    {"pin", "unpin", "delete_chat", "mute", "ban", "unmute", "unban", "slow_mode", "answer"}
)
USER_COMMANDS = frozenset({"chat", "like", "ping", "question"}) | STAFF_COMMANDS

MAX_MUTE_S = 7 * 86400
MAX_SLOW_MODE_S = 3600
MAX_ID_LEN = 64


class ChannelError(Exception):
    """A refused client message: `code` is the websocket error code."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def event(self, now_ms: int) -> dict[str, Any]:
        event = {"type": "error", "code": self.code, "message": self.message, "ts": now_ms}
        return {**event, **self.extra}


@dataclass(frozen=True)
class Command:
    """One parsed client message; only the fields its type uses are set."""

    type: str
    text: str = ""
    sku: str = ""
    msg_id: str = ""
    user_id: str = ""
    seconds: int = 0
    # mute and ban: "user" (the account or session) or "ip" (also the user's address).
    scope: str = "user"
    question_id: str = ""


def parse_command(data: str | bytes, settings: Settings) -> Command:
    """A client frame as a `Command`, or `ChannelError` (bad_message, too_large)."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ChannelError("bad_message", "a message must be one JSON object") from exc
    if not isinstance(message, dict):
        raise ChannelError("bad_message", "a message must be one JSON object")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in USER_COMMANDS:
        raise ChannelError("bad_message", f"unknown message type {str(kind)[:32]!r}")
    if kind == "chat":
        return Command(kind, text=_chat_text(message, settings.chat.max_len))
    if kind == "question":
        sku = _id_field(message, "sku") if message.get("sku") is not None else ""
        return Command(kind, text=_chat_text(message, settings.chat.max_len), sku=sku)
    if kind == "answer":
        text = _chat_text(message, settings.chat.max_len)
        return Command(kind, text=text, question_id=_id_field(message, "question_id"))
    if kind == "pin":
        return Command(kind, sku=_id_field(message, "sku"))
    if kind == "delete_chat":
        return Command(kind, msg_id=_id_field(message, "msg_id"))
    if kind == "mute":
        seconds = _int_field(message, "seconds", 1, MAX_MUTE_S)
        user_id = _id_field(message, "user_id")
        return Command(kind, user_id=user_id, seconds=seconds, scope=_scope(message))
    if kind == "ban":
        return Command(kind, user_id=_id_field(message, "user_id"), scope=_scope(message))
    if kind in ("unmute", "unban"):
        return Command(kind, user_id=_id_field(message, "user_id"))
    if kind == "slow_mode":
        return Command(kind, seconds=_int_field(message, "seconds", 0, MAX_SLOW_MODE_S))
    return Command(kind)


def _chat_text(message: dict[str, Any], max_len: int) -> str:
    text = message.get("text")
    if not isinstance(text, str):
        raise ChannelError("bad_message", "`text` must be a string")
    # Control, bidi-override and zero-width characters only ever garble others' screens.
    text = clean_text(text)
    if not text:
        raise ChannelError("bad_message", "`text` must not be empty")
    if len(text) > max_len:
        raise ChannelError("too_large", f"a chat message has at most {max_len} characters")
    return text


def _scope(message: dict[str, Any]) -> str:
    scope = message.get("scope", "user")
    if scope not in ("user", "ip"):
        raise ChannelError("bad_message", '`scope` must be "user" or "ip"')
    return str(scope)


def _id_field(message: dict[str, Any], key: str) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LEN:
        raise ChannelError("bad_message", f"`{key}` must be a string of 1 to {MAX_ID_LEN} chars")
    return value


def _int_field(message: dict[str, Any], key: str, low: int, high: int) -> int:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ChannelError("bad_message", f"`{key}` must be a whole number from {low} to {high}")
    return value


def check_allowed(command: Command, is_staff: bool, signed_in: bool) -> None:
    """Viewers may chat and like once signed in; only hosts and admins moderate."""
    if command.type in STAFF_COMMANDS and not is_staff:
        raise ChannelError("forbidden", f"only the room's host may {command.type}")
    if command.type in ("chat", "question") and not signed_in:
        raise ChannelError("forbidden", f"sign in (POST /api/sessions) to {command.type}")


@cache
def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    cleaned = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile("|".join(re.escape(w) for w in cleaned), re.IGNORECASE)


def filter_words(text: str, words: tuple[str, ...]) -> str:
    """`text` with every filtered word (any case) replaced by as many asterisks."""
    pattern = _word_pattern(words)
    if pattern is None:
        return text
    return pattern.sub(lambda m: "*" * len(m.group(0)), text)


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Non-browser clients send no Origin; a browser's must be listed, or be this host."""
    if origin is None:
        return True
    if allowed:
        return origin.rstrip("/") in {a.rstrip("/") for a in allowed}
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc.lower() == str(host).lower()


class InboundLimiter:
    """A token bucket: `rate` frames per second, bursts of twice that."""

    def __init__(self, rate: float, *, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, 2 * rate)
        self.tokens = self.burst
        self.clock = clock
        self.updated = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def inbound_limiter(settings: RealtimeSettings, is_staff: bool) -> InboundLimiter:
    """The flood limit of one connection: hosts and admins (`is_staff`) are exempt from
    chat limits, so theirs is `staff_inbound_rate`, far above a viewer's `inbound_rate`."""
    return InboundLimiter(settings.staff_inbound_rate if is_staff else settings.inbound_rate)


def parse_resume(since: str | None, epoch: str | None) -> tuple[int | None, str]:
    """The `since` and `epoch` query parameters; a bad `since` means no resume."""
    if since is None or not since.isdigit() or len(since) > 18:
        return None, epoch or ""
    return int(since), (epoch or "")[:64]
