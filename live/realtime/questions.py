"""Questions viewers ask about products, and the host's answers, in Redis. A question is
heard by the room's staff only (a personal event to "@staff") until it is answered; the
answer is a durable `answer` event for everyone and joins the product's answers."""

from __future__ import annotations

from typing import Any

import orjson

from live.auth import Identity
from live.commerce.ids import new_question_id, room_of
from live.errors import NotFound
from live.realtime.protocol import ChannelError, Command
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

QUESTIONS_PER_MINUTE = 5
# Each product keeps its latest answers (older ones stay in the rooms' histories).
ANSWERS_KEPT = 200

_REFUSALS = {
    "room_ended": ("room_ended", "the room has ended"),
    "banned": ("forbidden", "you are banned from this room"),
    "muted": ("muted", "you are muted"),
    "not_in_lineup": ("bad_message", "that product is not in this room's line-up"),
    "rate_limited": ("rate_limited", "too many questions: wait a minute"),
    "not_found": ("bad_message", "no such question in this room"),
    "already_answered": ("bad_message", "that question is answered already"),
}


def _refusal(code: bytes) -> ChannelError:
    error, message = _REFUSALS.get(code.decode(), ("bad_message", code.decode()))
    return ChannelError(error, message)


class QuestionStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._maxlen = settings.realtime.history_min_events

    async def ask(
        self, room_id: str, user_id: str, name: str, text: str, sku: str | None
    ) -> dict[str, Any]:
        """Ask about `sku` (None: the pinned product); the question, or `ChannelError`."""
        k = self._keys
        keys = [
            k.room(room_id),
            k.room_lineup(room_id),
            k.room_pinned(room_id),
            k.room_questions(room_id),
            k.room_open_questions(room_id),
            k.room_muted(room_id),
            k.room_banned(room_id),
            k.room_channel(room_id),
            f"{k.room_tag(room_id)}:qrate:{user_id}",
        ]
        args = [new_question_id(room_id), user_id, name, text, sku or "", QUESTIONS_PER_MINUTE]
        reply = await self._scripts.call("question_ask", keys, args)
        if reply[0] != b"ok":
            raise _refusal(reply[0])
        question: dict[str, Any] = orjson.loads(reply[1])
        return question

    async def answer(self, room_id: str, question_id: str, text: str, by: str) -> dict[str, Any]:
        """Answer a question of this room; the answered question, or `ChannelError`."""
        try:
            if room_of(question_id, "q") != room_id:
                raise _refusal(b"not_found")
        except NotFound as exc:
            raise _refusal(b"not_found") from exc
        k = self._keys
        keys = [
            k.room_questions(room_id),
            k.room_open_questions(room_id),
            k.room_seq(room_id),
            k.room_history(room_id),
            k.room_channel(room_id),
            k.room(room_id),
        ]
        reply = await self._scripts.call(
            "question_answer", keys, [question_id, text, by, self._maxlen]
        )
        if reply[0] != b"ok":
            raise _refusal(reply[0])
        answered: dict[str, Any] = orjson.loads(reply[1])
        if answered.get("sku"):
            # The product's answers are a global key (another slot than the room's): a
            # second write, after the room's own record and event are made.
            key = k.product_answers(answered["sku"])
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {reply[1]: answered["answered_at"]})
                pipe.zremrangebyrank(key, 0, -ANSWERS_KEPT - 1)
                await pipe.execute()
        return answered

    async def product_answers(self, sku: str, limit: int) -> list[dict[str, Any]]:
        """A product's answered questions, newest first."""
        raws = await self._redis.zrevrange(self._keys.product_answers(sku), 0, limit - 1)
        return [orjson.loads(raw) for raw in raws]

    async def room_questions(self, room_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The room's unanswered questions, newest first (for its staff)."""
        ids = await self._redis.zrevrange(self._keys.room_open_questions(room_id), 0, limit - 1)
        if not ids:
            return []
        raws = await self._redis.hmget(self._keys.room_questions(room_id), ids)
        return [orjson.loads(raw) for raw in raws if raw is not None]


async def ask_or_answer(
    store: QuestionStore, command: Command, identity: Identity, room_id: str
) -> None:
    """The room channel's `question` (a viewer) and `answer` (staff) messages."""
    if command.type == "question":
        await store.ask(room_id, identity.user_id, identity.name, command.text, command.sku or None)
    else:
        await store.answer(room_id, command.question_id, command.text, identity.name)
