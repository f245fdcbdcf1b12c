"""The lean sender's packets read back with aiortc's own RTP parser, RTX included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

from live.media.aiortc_private import ABS_SEND_TIME, MID, SenderParams
from live.media.sender import ViewerSender, abs_send_time, ntp_now


class Wire:
    """Stands in for aiortc's DTLS/ICE link: records what would be sent (no SRTP)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.reports: list[tuple[int, int, int, int]] = []
        self.nack: Callable[[int], None] | None = None

    def output(self) -> tuple[Any, Any]:
        return (lambda data: data), self.sent.extend

    def close(self) -> None:
        pass

    def report(self, ntp: int, rtp_ts: int, packets: int, octets: int) -> None:
        self.reports.append((ntp, rtp_ts, packets, octets))

    def on_nack(self, callback: Callable[[int], None]) -> None:
        self.nack = callback


def extension_map(mid_id: int, abs_id: int) -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=mid_id, uri=MID),
                RTCRtpHeaderExtensionParameters(id=abs_id, uri=ABS_SEND_TIME),
            ]
        )
    )
    return extensions


def started(
    rtx: int | None = 97, mid: str = "1", mid_id: int = 4
) -> tuple[ViewerSender, Wire, list[int]]:
    starts: list[int] = []
    sender = ViewerSender("video", on_start=lambda: starts.append(1))
    wire = Wire()
    params = SenderParams(
        ssrc=1111,
        rtx_ssrc=2222,
        payload_type=96,
        rtx_payload_type=rtx,
        mid=mid,
        mid_id=mid_id,
        abs_send_time_id=2,
        payload_types={"vp8": (96, rtx), "h264": (102, None)},
    )
    sender.start(params, wire)  # type: ignore[arg-type]
    return sender, wire, starts


def test_packets_parse_as_rtp_with_the_negotiated_extensions() -> None:
    sender, wire, starts = started()
    assert starts == [1], "a started sender asks for a keyframe"
    ntp = ntp_now()
    assert sender.send_frame([b"one", b"two", b"three"], 3000, ntp, abs_send_time(ntp), "vp8")
    packets = [RtpPacket.parse(data, extension_map(4, 2)) for data in wire.sent]
    assert [p.payload for p in packets] == [b"one", b"two", b"three"]
    assert [p.marker for p in packets] == [0, 0, 1]
    assert {(p.ssrc, p.payload_type, p.timestamp) for p in packets} == {
        (1111, 96, packets[0].timestamp)
    }
    first = packets[0].sequence_number
    assert [p.sequence_number for p in packets] == [first, first + 1, first + 2]
    assert all(p.extensions.mid == "1" for p in packets)
    assert packets[0].extensions.abs_send_time == (ntp >> 14) & 0xFFFFFF
    assert wire.reports[-1][1:] == (packets[0].timestamp, 3, len(b"onetwothree"))
    # The next frame's timestamp moves by the frame's step.
    sender.send_frame([b"four"], 6000, ntp, abs_send_time(ntp), "vp8")
    following = RtpPacket.parse(wire.sent[-1], extension_map(4, 2))
    assert following.timestamp == (packets[0].timestamp + 3000) & 0xFFFFFFFF
    assert following.sequence_number == (first + 3) & 0xFFFF


def test_a_nack_is_answered_over_rtx_with_the_original_packet() -> None:
    sender, wire, _ = started()
    ntp = ntp_now()
    sender.send_frame([b"alpha", b"beta"], 0, ntp, abs_send_time(ntp), "vp8")
    original = RtpPacket.parse(wire.sent[1], extension_map(4, 2))
    assert wire.nack is not None
    wire.nack(original.sequence_number)
    rtx = RtpPacket.parse(wire.sent[-1], extension_map(4, 2))
    assert (rtx.ssrc, rtx.payload_type) == (2222, 97)
    repaired = unwrap_rtx(rtx, payload_type=96, ssrc=1111)
    assert (repaired.sequence_number, repaired.payload) == (original.sequence_number, b"beta")
    assert repaired.marker == 1 and repaired.timestamp == original.timestamp
    # Unknown sequence numbers are ignored.
    count = len(wire.sent)
    wire.nack((original.sequence_number + 500) & 0xFFFF)
    assert len(wire.sent) == count


def test_without_rtx_the_packet_is_sent_again_as_it_was() -> None:
    sender, wire, _ = started(rtx=None, mid="")
    sender.send_frame([b"only"], 0, 0, abs_send_time(0), "vp8")
    seq = RtpPacket.parse(wire.sent[0], extension_map(4, 2)).sequence_number
    assert wire.nack is not None
    wire.nack(seq)
    assert wire.sent[-1] == wire.sent[0]


def test_each_codec_goes_out_with_its_own_payload_type() -> None:
    # A room's codec follows its publisher: one viewer session carries either.
    sender, wire, _ = started()
    assert sender.takes("vp8") and sender.takes("h264") and not sender.takes("av1")
    assert sender.send_frame([b"h264"], 0, 0, b"\0\0\0", "h264")
    assert not sender.send_frame([b"av1"], 0, 0, b"\0\0\0", "av1")
    assert RtpPacket.parse(wire.sent[-1], extension_map(4, 2)).payload_type == 102
    assert len(wire.sent) == 1


def test_a_stopped_sender_sends_nothing() -> None:
    sender, wire, _ = started()
    sender.stop()
    assert not sender.send_frame([b"x"], 0, 0, b"\0\0\0", "vp8")
    assert wire.sent == []


def test_ids_above_14_use_the_two_byte_header_form() -> None:
    sender, wire, _ = started(mid_id=20)
    ntp = ntp_now()
    sender.send_frame([b"p"], 0, ntp, abs_send_time(ntp), "vp8")
    packet = RtpPacket.parse(wire.sent[0], extension_map(20, 2))
    assert packet.extensions.mid == "1" and packet.payload == b"p"
    assert packet.extensions.abs_send_time == (ntp >> 14) & 0xFFFFFF
