"""The channel frame parser, delivery latency and seq continuity, as a client sees them."""

from __future__ import annotations

import pytest

from loadtests.frames import (
    FrameError,
    Gap,
    Repeat,
    SeqTracker,
    channel_url,
    delivery_latency_ms,
    parse_frame,
    sales_offered,
)


def snapshot(
    seq: int, epoch: str = "e1", recovered: bool = False, **extra: object
) -> dict[str, object]:
    return {
        "type": "snapshot",
        "ts": 1000,
        "seq": seq,
        "epoch": epoch,
        "recovered": recovered,
        **extra,
    }


def chat(seq: int) -> dict[str, object]:
    return {"type": "chat", "ts": 1000, "seq": seq, "text": "hi"}


def test_a_frame_is_an_array_of_events_oldest_first() -> None:
    events = parse_frame(b'[{"type":"chat","seq":3,"ts":5},{"type":"likes","count":9,"ts":6}]')
    assert [e["type"] for e in events] == ["chat", "likes"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"{}", b"[]", b'{"type":"chat"}', b"[1]", b'[{"seq":1}]', b'[{"type":3}]'],
)
def test_malformed_frames_are_refused(raw: bytes) -> None:
    with pytest.raises(FrameError):
        parse_frame(raw)


def test_latency_is_receipt_minus_the_event_ts() -> None:
    assert delivery_latency_ms({"type": "chat", "ts": 1_000}, 1_042.5) == 42.5


def test_a_server_clock_ahead_of_the_loader_reads_as_zero_latency() -> None:
    assert delivery_latency_ms({"type": "chat", "ts": 2_000}, 1_000) == 0.0


@pytest.mark.parametrize("ts", [None, "1000", True])
def test_no_latency_without_a_numeric_ts(ts: object) -> None:
    assert delivery_latency_ms({"type": "chat", "ts": ts}, 1_000) is None


def test_consecutive_seqs_after_the_snapshot_pass() -> None:
    tracker = SeqTracker()
    assert tracker.on_snapshot(snapshot(10)) is None
    assert [tracker.on_event(chat(s)) for s in (11, 12, 13)] == [None, None, None]
    assert tracker.last_seq == 13


def test_a_skipped_seq_is_a_gap_with_the_missed_count() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    gap = tracker.on_event(chat(14))
    assert gap == Gap(expected=11, got=14)
    assert isinstance(gap, Gap) and gap.missing == 3
    assert tracker.on_event(chat(15)) is None  # counted once, then followed from there


def test_a_seq_seen_before_is_a_repeat() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    tracker.on_event(chat(11))
    assert tracker.on_event(chat(11)) == Repeat(expected=12, got=11)
    assert tracker.on_event(chat(12)) is None


def test_unsequenced_events_are_not_followed() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    for event in (
        {"type": "stock", "sale_id": "s1", "left": 3, "held": 1, "sold": 0},
        {"type": "viewers", "count": 5},
        {"type": "order", "seq": 99},
        {"type": "pong"},
    ):
        assert tracker.on_event(event) is None
    assert tracker.last_seq == 10


def test_resume_parameters_name_the_last_seq_and_epoch() -> None:
    tracker = SeqTracker()
    assert tracker.resume_params() == {}
    tracker.on_snapshot(snapshot(10, epoch="e7"))
    tracker.on_event(chat(11))
    assert tracker.resume_params() == {"since": "11", "epoch": "e7"}


def test_a_recovered_resume_expects_the_missed_events_next() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    resume = tracker.on_snapshot(snapshot(15, recovered=True))
    assert resume is not None and resume.complete
    assert [tracker.on_event(chat(s)) for s in range(11, 17)] == [None] * 6


def test_a_recovered_resume_that_skips_missed_events_is_a_gap() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    tracker.on_snapshot(snapshot(15, recovered=True))
    assert tracker.on_event(chat(16)) == Gap(expected=11, got=16)


def test_an_unrecovered_resume_restarts_from_the_snapshot() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10))
    resume = tracker.on_snapshot(snapshot(5000, recovered=False))
    assert resume is not None and not resume.recovered and not resume.complete
    assert tracker.on_event(chat(5001)) is None


def test_a_new_epoch_is_reported_even_when_recovered() -> None:
    tracker = SeqTracker()
    tracker.on_snapshot(snapshot(10, epoch="e1"))
    resume = tracker.on_snapshot(snapshot(3, epoch="e2", recovered=True))
    assert resume is not None and resume.epoch_changed and not resume.complete
    assert tracker.on_event(chat(4)) is None
    assert tracker.resume_params() == {"since": "4", "epoch": "e2"}


def test_open_sales_come_from_snapshots_and_sale_events() -> None:
    sale = {"sale_id": "s1", "status": "open", "per_buyer_limit": 2}
    closed = {"sale_id": "s0", "status": "closed"}
    assert sales_offered(snapshot(1, sales=[closed, sale])) == [sale]
    assert sales_offered(snapshot(1, sales={"s0": closed, "s1": sale})) == [sale]
    assert sales_offered({"type": "sale_open", "seq": 2, "sale": sale}) == [sale]
    assert sales_offered({"type": "sale_reopened", "seq": 3, "sale_id": "s1"}) == [
        {"sale_id": "s1"}
    ]
    assert sales_offered({"type": "sold_out", "seq": 4, "sale_id": "s1"}) == []
    assert sales_offered(snapshot(1)) == []


def test_channel_url_follows_the_deployment_scheme_and_escapes_the_token() -> None:
    assert (
        channel_url("http://127.0.0.1:8000/", "r_1", {"token": "a+b/c", "since": "4"})
        == "ws://127.0.0.1:8000/ws/rooms/r_1?token=a%2Bb%2Fc&since=4"
    )
    assert channel_url("https://shop.example", "r_1", {}) == "wss://shop.example/ws/rooms/r_1"
