"""The relay link's messages and rules (live.routing.link), without sockets."""

from __future__ import annotations

import pytest

from live.routing.link import (
    ENDED,
    KEYFRAME,
    MAX_PART,
    SUBSCRIBE,
    UNSUBSCRIBE,
    Control,
    FramePart,
    LinkError,
    LinkFrame,
    Reassembler,
    Subscribers,
    decode,
    encode_control,
    encode_frame,
    is_gap,
    link_key,
)
from live.routing.workers import WorkerAddress, viewer_session_id, viewer_session_port

KEY = link_key("the workers' secret")


def frame_parts(payload: bytes, seq: int = 7, max_part: int = MAX_PART) -> list[FramePart]:
    datagrams = encode_frame(
        KEY, "r_room", "video", True, 3, seq, 0xFFFFFFF0, 1_700_000_000_000_000, payload, max_part
    )
    parts = [decode(KEY, d) for d in datagrams]
    assert all(isinstance(p, FramePart) for p in parts)
    return [p for p in parts if isinstance(p, FramePart)]


def test_a_frame_goes_through_whole() -> None:
    (part,) = frame_parts(b"\x10frame bytes")
    frame = Reassembler().add(part)
    assert frame == LinkFrame(
        "r_room", "video", True, 3, 7, 0xFFFFFFF0, 1_700_000_000_000_000, b"\x10frame bytes"
    )


def test_a_large_keyframe_is_cut_into_datagrams_and_put_back_together() -> None:
    payload = bytes(range(256)) * 1000  # 256,000 bytes: five datagrams
    parts = frame_parts(payload)
    assert len(parts) == 5 and all(len(p.payload) <= MAX_PART for p in parts)
    reassembler = Reassembler()
    # Parts may come in any order; the frame comes out once, when the last one arrives.
    out = [reassembler.add(p) for p in [parts[4], parts[0], parts[2], parts[1], parts[3]]]
    assert out[:4] == [None] * 4
    assert out[4] is not None and out[4].data == payload


def test_a_frame_missing_a_part_is_given_up_for_the_next_one() -> None:
    first = frame_parts(b"a" * 30, seq=1, max_part=10)
    second = frame_parts(b"b" * 30, seq=2, max_part=10)
    reassembler = Reassembler()
    assert reassembler.add(first[0]) is None
    assert reassembler.add(first[1]) is None  # first[2] is lost
    results = [reassembler.add(p) for p in second]
    assert results[-1] is not None and results[-1].data == b"b" * 30
    # The lost part arriving late brings nothing back.
    assert reassembler.add(first[2]) is None


def test_control_messages_round_trip() -> None:
    message = decode(KEY, encode_control(KEY, SUBSCRIBE, "r_room", 5000))
    assert message == Control(SUBSCRIBE, "r_room", 5000)
    for kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        assert decode(KEY, encode_control(KEY, kind, "r_x")) == Control(kind, "r_x")


def test_a_datagram_without_the_workers_key_is_refused() -> None:
    other = link_key("another secret")
    with pytest.raises(LinkError, match="key"):
        decode(KEY, encode_control(other, SUBSCRIBE, "r_room", 5000))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x02" + bytes(40),  # another version
        encode_control(KEY, KEYFRAME, "r_room")[:-2],  # the room id cut short
        encode_control(KEY, KEYFRAME, "r_room") + b"x",  # trailing bytes
        encode_control(KEY, SUBSCRIBE, "r_room", 1)[:-1],  # no whole lease
        encode_frame(KEY, "r_room", "audio", False, 0, 0, 0, 0, b"x")[0][:40],  # short header
        bytes([1, 99]) + KEY + b"\x00",  # unknown type
    ],
)
def test_malformed_datagrams_are_refused(data: bytes) -> None:
    with pytest.raises(LinkError):
        decode(KEY, data)


def test_gaps_in_the_frame_counter() -> None:
    assert not is_gap(None, 5)
    assert not is_gap(5, 6)
    assert is_gap(5, 7)
    assert not is_gap(0xFFFFFFFF, 0)


def test_subscriptions_lapse_unless_renewed() -> None:
    subscribers = Subscribers()
    assert subscribers.renew("r_a", ("127.0.0.1", 1), 5.0, now=100.0)
    assert not subscribers.renew("r_a", ("127.0.0.1", 1), 5.0, now=102.0)  # a renewal
    assert subscribers.renew("r_a", ("127.0.0.1", 2), 5.0, now=102.0)
    assert subscribers.of("r_a") == [("127.0.0.1", 1), ("127.0.0.1", 2)]
    assert subscribers.expire(now=106.0) == 0
    subscribers.renew("r_a", ("127.0.0.1", 2), 5.0, now=106.0)
    assert subscribers.expire(now=107.5) == 1  # the first edge stopped renewing
    assert subscribers.of("r_a") == [("127.0.0.1", 2)]
    subscribers.drop("r_a", ("127.0.0.1", 2))
    assert subscribers.of("r_a") == [] and subscribers.count() == 0


def test_worker_addresses_and_viewer_session_ids() -> None:
    worker = WorkerAddress("http://127.0.0.1:4100", ("127.0.0.1", 4200), "node-a", 1234)
    assert WorkerAddress.parse(worker.encode()) == worker
    # A lease written before relay links: a listener, nothing to pull from.
    assert WorkerAddress.parse("http://127.0.0.1:4100") == WorkerAddress("http://127.0.0.1:4100")
    assert WorkerAddress.parse("{not json").url == ""
    session_id = viewer_session_id(4100, "0123456789abcdef")
    assert len(session_id) == 17 and viewer_session_port(session_id) == 4100
    for other in ("p0123456789abcdef", "v0000123456789abc", "vzzzz23456789abcd", "v12"):
        assert viewer_session_port(other) is None
