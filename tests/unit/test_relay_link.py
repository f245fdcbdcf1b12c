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
    encode_subscribe,
    is_gap,
    subscribe_accepted,
)
from live.routing.sealed import LinkSealer
from live.routing.workers import (
    WorkerAddress,
    node_name,
    viewer_session_id,
    viewer_session_node,
    viewer_session_port,
)

SECRET = "the nodes' secret"
SENDER = LinkSealer(SECRET)


def receiver() -> LinkSealer:
    """Another process of the same deployment: the same secret, its own salt."""
    return LinkSealer(SECRET)


def frame_parts(payload: bytes, seq: int = 7, max_part: int = MAX_PART) -> list[FramePart]:
    datagrams = encode_frame(
        SENDER,
        "r_room",
        "video",
        True,
        3,
        seq,
        0xFFFFFFF0,
        1_700_000_000_000_000,
        payload,
        max_part,
    )
    other = receiver()
    parts = [decode(other, d) for d in datagrams]
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
    other = receiver()
    datagram = encode_subscribe(SENDER, "r_room", 5000, "10.0.0.5:4200", 1234, 1200, True)
    assert decode(other, datagram) == Control(
        SUBSCRIBE, "r_room", 5000, 1200, True, 1234, "10.0.0.5:4200"
    )
    for kind in (UNSUBSCRIBE, KEYFRAME, ENDED):
        assert decode(other, encode_control(SENDER, kind, "r_x")) == Control(kind, "r_x")


def test_a_subscribe_counts_only_from_where_it_says_and_while_recent() -> None:
    message = decode(receiver(), encode_subscribe(SENDER, "r_a", 5000, "10.0.0.5:4200", 50_000))
    assert isinstance(message, Control)
    assert subscribe_accepted(message, ("10.0.0.5", 4200), now_ms=52_000)
    # Replayed from another address, or long after it was made: nobody is subscribed.
    assert not subscribe_accepted(message, ("10.0.0.9", 4200), now_ms=52_000)
    assert not subscribe_accepted(message, ("10.0.0.5", 4200), now_ms=70_000)


def test_a_datagram_sealed_with_another_secret_is_refused() -> None:
    other = LinkSealer("another deployment's secret")
    with pytest.raises(LinkError, match="secret"):
        decode(receiver(), encode_control(other, KEYFRAME, "r_room"))


def test_the_same_datagram_is_taken_once() -> None:
    other = receiver()
    datagram = encode_control(SENDER, KEYFRAME, "r_room")
    later = encode_control(SENDER, KEYFRAME, "r_room")
    assert decode(other, later) == Control(KEYFRAME, "r_room")
    # One a little older than the newest still counts (reordered on the way), once.
    assert decode(other, datagram) == Control(KEYFRAME, "r_room")
    for replayed in (datagram, later):
        with pytest.raises(LinkError, match="replayed"):
            decode(other, replayed)


def test_a_datagram_altered_on_the_way_is_refused() -> None:
    datagram = bytearray(encode_control(SENDER, KEYFRAME, "r_room"))
    datagram[-20] ^= 1
    with pytest.raises(LinkError):
        decode(receiver(), bytes(datagram))


def test_the_room_id_travels_encrypted() -> None:
    datagram = encode_control(SENDER, KEYFRAME, "r_visible_in_the_clear")
    assert b"r_visible" not in datagram


@pytest.mark.parametrize(
    "plain",
    [
        b"",
        b"\x02",
        b"\x01" + bytes(40),  # another version
        bytes([2, KEYFRAME, 9]) + b"r_room",  # the room id cut short
        bytes([2, KEYFRAME, 6]) + b"r_room" + b"x",  # trailing bytes
        bytes([2, SUBSCRIBE, 6]) + b"r_room" + b"\x00\x00",  # no whole subscribe
        bytes([2, 1, 6]) + b"r_room" + bytes(10),  # short frame header
        bytes([2, 99, 0]),  # unknown type
    ],
)
def test_malformed_datagrams_are_refused(plain: bytes) -> None:
    with pytest.raises(LinkError):
        decode(receiver(), SENDER.seal(plain))


def test_short_or_unsealed_datagrams_are_refused() -> None:
    for data in (b"", b"\x02", bytes(60)):
        with pytest.raises(LinkError):
            decode(receiver(), data)


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
    worker = WorkerAddress("http://127.0.0.1:1", ("10.0.0.5", 2), "b", 9, "https://b.example")
    assert WorkerAddress.parse(worker.encode()) == worker
    session_id = viewer_session_id(4100, "0123456789abcdef")
    assert len(session_id) == 17 and viewer_session_port(session_id) == 4100
    assert viewer_session_node(session_id) == ""
    on_node = viewer_session_id(4100, "0123456789abcdef", "node-b.2")
    assert on_node == session_id + "-node-b.2"
    assert viewer_session_port(on_node) == 4100 and viewer_session_node(on_node) == "node-b.2"
    for other in (
        "p0123456789abcdef",
        "v0000123456789abc",
        "vzzzz23456789abcd",
        "v12",
        session_id + "-",
        session_id + "+node",
        session_id + "-no/de",
    ):
        assert viewer_session_port(other) is None


def test_node_names() -> None:
    assert node_name("node-a", "host") == "node-a"
    assert node_name("", "web 1.example.org") == "web-1.example.org"
    with pytest.raises(ValueError, match="node"):
        node_name("a/b", "host")
