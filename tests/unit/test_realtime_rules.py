"""The room channel's pure rules: parsing, permissions, filters, batching, limits."""

from __future__ import annotations

import orjson
import pytest

from live.realtime.batch import Event, RoomBatch, after, frame
from live.realtime.protocol import (
    ChannelError,
    InboundLimiter,
    check_allowed,
    filter_words,
    inbound_limiter,
    origin_allowed,
    parse_command,
    parse_resume,
)
from live.settings import Settings

SETTINGS = Settings()


def _error_code(data: str) -> str:
    with pytest.raises(ChannelError) as caught:
        parse_command(data, SETTINGS)
    return caught.value.code


def test_commands_are_parsed_with_their_fields() -> None:
    chat = parse_command('{"type":"chat","text":"  hi\\u0007 there "}', SETTINGS)
    assert (chat.type, chat.text) == ("chat", "hi there")
    mute = parse_command('{"type":"mute","user_id":"u_1","seconds":30}', SETTINGS)
    assert (mute.user_id, mute.seconds) == ("u_1", 30)
    assert parse_command(b'{"type":"slow_mode","seconds":0}', SETTINGS).seconds == 0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("nope", "bad_message"),
        ("[1]", "bad_message"),
        ('{"type":"fly"}', "bad_message"),
        ('{"type":"chat"}', "bad_message"),
        ('{"type":"chat","text":"   "}', "bad_message"),
        ('{"type":"chat","text":"' + "x" * 301 + '"}', "too_large"),
        ('{"type":"mute","user_id":"u","seconds":true}', "bad_message"),
        ('{"type":"mute","user_id":"u","seconds":0}', "bad_message"),
        ('{"type":"pin","sku":""}', "bad_message"),
    ],
)
def test_bad_commands_are_refused_with_a_code(data: str, code: str) -> None:
    assert _error_code(data) == code


def test_only_staff_moderate_and_only_signed_in_users_chat() -> None:
    pin = parse_command('{"type":"pin","sku":"a"}', SETTINGS)
    chat = parse_command('{"type":"chat","text":"a"}', SETTINGS)
    check_allowed(pin, is_staff=True, signed_in=True)
    check_allowed(chat, is_staff=False, signed_in=True)
    for command, staff, signed in ((pin, False, True), (chat, False, False)):
        with pytest.raises(ChannelError) as caught:
            check_allowed(command, staff, signed)
        assert caught.value.code == "forbidden"


def test_word_filter_masks_any_case() -> None:
    assert filter_words("Darn it, DARN", ("darn",)) == "**** it, ****"
    assert filter_words("fine", ()) == "fine"


def test_origin_rules() -> None:
    assert origin_allowed(None, "a:1", ())
    assert origin_allowed("http://a:1", "a:1", ())
    assert not origin_allowed("http://evil", "a:1", ())
    assert origin_allowed("https://shop.example/", "a:1", ("https://shop.example",))
    assert not origin_allowed("http://a:1", "a:1", ("https://shop.example",))


def test_inbound_limiter_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = InboundLimiter(5, clock=lambda: now[0])
    assert sum(limiter.allow() for _ in range(20)) == 10
    now[0] += 1.0
    assert sum(limiter.allow() for _ in range(20)) == 5


def test_staff_connections_have_their_own_flood_limit() -> None:
    realtime = SETTINGS.realtime
    assert realtime.staff_inbound_rate >= 10 * realtime.inbound_rate
    viewer = inbound_limiter(realtime, is_staff=False)
    staff = inbound_limiter(realtime, is_staff=True)
    assert (viewer.rate, viewer.burst) == (realtime.inbound_rate, 2 * realtime.inbound_rate)
    assert (staff.rate, staff.burst) == (realtime.staff_inbound_rate, 2 * staff.rate)


def test_resume_parameters() -> None:
    assert parse_resume("12", "e1") == (12, "e1")
    assert parse_resume("-1", "e1") == (None, "e1")
    assert parse_resume(None, None) == (None, "")


def _event(data: dict[str, object]) -> tuple[Event, dict[str, object]]:
    return Event.parse(orjson.dumps(data), data), data


def test_a_batch_keeps_durable_order_and_only_the_latest_values() -> None:
    batch = RoomBatch()
    events: list[dict[str, object]] = [
        {"type": "chat", "seq": 1},
        {"type": "stock", "sale_id": "a", "left": 5},
        {"type": "stock", "sale_id": "b", "left": 9},
        {"type": "chat", "seq": 2},
        {"type": "stock", "sale_id": "a", "left": 4},
        {"type": "viewers", "count": 3},
        {"type": "order", "to": "u_1"},
    ]
    for data in events:
        batch.add(*_event(data))
    sent = orjson.loads(frame([e.raw for e in batch.broadcast()]))
    assert [(e["type"], e.get("seq"), e.get("left")) for e in sent] == [
        ("chat", 1, None),
        ("chat", 2, None),
        ("stock", None, 9),
        ("stock", None, 4),
        ("viewers", None, None),
    ]
    assert [e.to for e in batch.personal] == ["u_1"]
    assert [e.seq for e in after(batch.broadcast(), 1)] == [2, None, None, None]
