"""Frame assembly on the marker bit, keyframe tests, timeline, throttle: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from live.media.frames import FrameAssembler, Throttle, Timeline, is_keyframe, vp8_starts_frame


@dataclass
class Pkt:
    sequence_number: int
    timestamp: int
    marker: int
    data: bytes


def data_of(packet: Pkt) -> bytes:
    return packet.data


def frame_packets(first_seq: int, ts: int, parts: list[bytes]) -> list[Pkt]:
    last = len(parts) - 1
    return [Pkt((first_seq + i) % 65536, ts, int(i == last), part) for i, part in enumerate(parts)]


def test_a_frame_completes_on_its_marker_packet() -> None:
    assembler = FrameAssembler(data_of)
    a, b, c = frame_packets(10, 3000, [b"a", b"b", b"c"])
    assert assembler.add(a) == []
    assert assembler.add(b) == []
    (frame,) = assembler.add(c)
    assert frame.data == b"abc" and frame.timestamp == 3000


def test_reordered_and_retransmitted_packets_complete_frames_in_order() -> None:
    assembler = FrameAssembler(data_of)
    first = frame_packets(65534, 100, [b"1", b"2"])
    second = frame_packets(0, 200, [b"3", b"4", b"5"])
    out = []
    for packet in [first[0], second[0], second[2], first[1], second[1]]:
        out += [frame.data for frame in assembler.add(packet)]
    assert out == [b"12", b"345"]


def test_a_frame_after_a_gap_waits_for_the_retransmission() -> None:
    assembler = FrameAssembler(data_of)
    one, two, three = (frame_packets(i, 100 * (i + 1), [bytes([i])])[0] for i in range(3))
    assert [f.data for f in assembler.add(one)] == [b"\x00"]
    assert assembler.add(three) == []  # held back: frame two is missing
    assert [f.data for f in assembler.add(two)] == [b"\x01", b"\x02"]
    assert assembler.add(two) == []  # a duplicate is ignored


def test_a_gap_that_never_fills_is_given_up_after_a_few_frames() -> None:
    assembler = FrameAssembler(data_of, max_pending=3)
    packets = [frame_packets(i, 100 * (i + 1), [bytes([i])])[0] for i in range(8)]
    out: list[bytes] = []
    for packet in packets[:2] + packets[3:]:
        out += [frame.data for frame in assembler.add(packet)]
    # Frame 2 never came; frame 3 also waits (its first packet might be the lost one).
    assert out == [b"\x00", b"\x01", b"\x04", b"\x05", b"\x06", b"\x07"]
    assert assembler.add(packets[2]) == []  # too late now


def test_keyframes() -> None:
    assert is_keyframe("vp8", b"\x10\x02")
    assert not is_keyframe("vp8", b"\x11\x02")
    assert not is_keyframe("vp8", b"")
    idr = b"\x00\x00\x00\x01\x67sps\x00\x00\x00\x01\x68pps\x00\x00\x01\x65idr"
    assert is_keyframe("h264", idr)
    assert not is_keyframe("h264", b"\x00\x00\x00\x01\x41slice")
    assert is_keyframe("opus", b"\xfc")


def test_timeline_continues_across_publishers() -> None:
    timeline = Timeline(step=3000)
    first, second = object(), object()
    assert timeline.map(first, 1000) == 1000
    assert timeline.map(first, 4000) == 4000
    assert timeline.map(second, 4_000_000_000) == 7000
    assert timeline.map(second, 4_000_003_000) == 10000
    assert timeline.map(second, (4_000_006_000) % (1 << 32)) == 13000


def test_throttle_allows_one_per_interval_and_remembers_the_rest() -> None:
    throttle = Throttle(0.5)
    assert throttle.request(10.0)
    assert not throttle.request(10.1)
    assert not throttle.due(10.3)
    assert throttle.due(10.6)
    assert not throttle.due(10.7)


@dataclass
class Vp8Pkt(Pkt):
    payload: bytes = b""


def test_vp8_frame_starts_are_read_from_the_payload_descriptor() -> None:
    assert vp8_starts_frame(Vp8Pkt(0, 0, 0, b"", b"\x10\x9d"))
    assert not vp8_starts_frame(Vp8Pkt(0, 0, 0, b"", b"\x00\x9d"))
    assert not vp8_starts_frame(Vp8Pkt(0, 0, 0, b"", b"\x11\x9d"))  # partition 1
    # After a gap, a frame whose first packet is here completes (and waits its turn).
    assembler = FrameAssembler(data_of, starts_frame=vp8_starts_frame)
    first = Vp8Pkt(0, 100, 1, b"a", b"\x10a")
    lost = Vp8Pkt(1, 200, 1, b"b", b"\x10b")
    third = Vp8Pkt(2, 300, 1, b"c", b"\x10c")
    assert [f.data for f in assembler.add(first)] == [b"a"]
    assert assembler.add(third) == []
    assert [f.data for f in assembler.add(lost)] == [b"b", b"c"]
