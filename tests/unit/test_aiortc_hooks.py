"""The private aiortc/aioice hooks still fit the pinned versions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib.metadata import version

import aioice
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket
from pylibsrtp import Policy, Session

from live.media import aiortc_hooks
from live.media.frames import EncodedFrame


class FakeDtls:
    """Only what the receiver and sender constructors read."""

    state = "new"


def test_aiortc_is_the_pinned_version() -> None:
    assert version("aiortc") == "1.16.0"
    assert version("pylibsrtp") == "1.0.0"


def test_fast_protect_matches_pylibsrtp() -> None:
    key = bytes(range(30))
    packets = [
        RtpPacket(payload_type=96, sequence_number=n, timestamp=9, ssrc=7, payload=b"x" * n)
        for n in (1, 500, 1300)
    ]
    plain = [p.serialize() for p in packets]
    ours = aiortc_hooks.fast_protect(Session(Policy(key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)))
    theirs = Session(Policy(key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    protected = [ours(p) for p in plain]
    assert protected == [theirs.protect(p) for p in plain]
    receiver = Session(Policy(key, ssrc_type=Policy.SSRC_ANY_INBOUND))
    assert [receiver.unprotect(p) for p in protected] == plain


async def test_tapped_receiver_gives_frames_on_the_marker_bit() -> None:
    receiver = RTCRtpReceiver("video", FakeDtls())  # type: ignore[arg-type]
    got: list[tuple[EncodedFrame, int]] = []
    aiortc_hooks.tap_encoded_frames(receiver, "video", lambda f, ssrc: got.append((f, ssrc)))
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    receiver._RTCRtpReceiver__codecs = {96: vp8}  # type: ignore[attr-defined]
    for seq, marker, body in ((1, 0, b"\x10ab"), (2, 1, b"cd")):
        packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=9000, ssrc=42)
        packet.marker = marker
        packet.payload = b"\x10" + body if seq == 1 else b"\x00" + body
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert len(got) == 1
    frame, ssrc = got[0]
    assert ssrc == 42 and frame.timestamp == 9000
    assert frame.data == b"\x10abcd"


async def test_keyframe_requests_reach_the_callback() -> None:
    sender = RTCRtpSender("video", FakeDtls())  # type: ignore[arg-type]
    calls: list[int] = []
    aiortc_hooks.on_keyframe_request(sender, lambda: calls.append(1))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=2))
    assert calls == [1]


@pytest.fixture
def port_range() -> Iterator[tuple[int, int]]:
    low = 41000 + os.getpid() % 1000 * 10
    aiortc_hooks.limit_udp_ports(low, low + 9)
    yield low, low + 9
    aiortc_hooks.limit_udp_ports(0, 0)


async def test_host_candidates_bind_inside_the_port_range(port_range: tuple[int, int]) -> None:
    connection = aioice.Connection(ice_controlling=True, components=1)
    try:
        await connection.gather_candidates()
        ports = [c.port for c in connection.local_candidates if c.type == "host"]
        assert ports
        assert all(port_range[0] <= p <= port_range[1] for p in ports)
    finally:
        await connection.close()
