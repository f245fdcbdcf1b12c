"""Frame assembly on the marker bit, keyframe tests, timeline, throttle: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from live.media.frames import FrameAssembler, Throttle, Timeline, is_keyframe


@dataclass
class Pkt:
    sequence_number: int
    timestamp: int
    marker: int
    _data: bytes


def frame_packets(first_seq: int, ts: int, parts: list[bytes]) -> list[Pkt]:
    last = len(parts) - 1
    return [Pkt((first_seq + i) % 65536, ts, int(i == last), part) for i, part in enumerate(parts)]


def test_a_frame_completes_on_its_marker_packet() -> None:
    assembler = FrameAssembler()
    a, b, c = frame_packets(10, 3000, [b"a", b"b", b"c"])
    assert assembler.add(a) is None
    assert assembler.add(b) is None
    frame = assembler.add(c)
    assert frame is not None and frame.data == b"abc" and frame.timestamp == 3000


def test_reordered_and_retransmitted_packets_complete_frames_in_order() -> None:
    assembler = FrameAssembler()
    first = frame_packets(65534, 100, [b"1", b"2"])
    second = frame_packets(0, 200, [b"3", b"4", b"5"])
    out = []
    for packet in [first[0], second[0], second[2], first[1], second[1]]:
        frame = assembler.add(packet)
        if frame is not None:
            out.append(frame.data)
    assert out == [b"12", b"345"]


def test_a_lost_packet_holds_back_its_frame_but_not_the_following_ones() -> None:
    assembler = FrameAssembler()
    out = []
    packets = frame_packets(0, 100, [b"a"]) + frame_packets(1, 200, [b"b", b"c"])
    packets += frame_packets(3, 300, [b"d"]) + frame_packets(4, 400, [b"e"])
    del packets[1]  # the first packet of the second frame never comes
    for packet in packets:
        frame = assembler.add(packet)
        if frame is not None:
            out.append(frame.data)
    assert b"c" not in out and out[0] == b"a" and out[-1] == b"e"


def test_late_frames_are_dropped_to_keep_order() -> None:
    assembler = FrameAssembler()
    old = frame_packets(0, 100, [b"old"])[0]
    new = frame_packets(1, 200, [b"new"])[0]
    assert assembler.add(new) is not None
    assert assembler.add(old) is None


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
