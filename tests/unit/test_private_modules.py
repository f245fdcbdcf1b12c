"""The private-touch modules: each fits the installed library, and each check names what
is missing in one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import aioice
import pylibsrtp
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import State
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, RtpPacket
from pylibsrtp import Policy, Session
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from live.cli import app_from_environment
from live.media import aioice_private, aiortc_private, srtp_private
from live.media.aiortc_private import SenderParams
from live.media.frames import EncodedFrame
from live.media.sender import ViewerSender
from live.private_attrs import MissingPrivateAttribute
from live.private_checks import check_private_attributes
from live.realtime import uvicorn_private


class FakeDtls:
    """Only what the receiver and sender constructors read."""

    state = "new"


MODULES = [aiortc_private, aioice_private, srtp_private, uvicorn_private]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.LIBRARY)
def test_each_module_was_built_for_the_installed_version(module: Any) -> None:
    # A lock file update that moves one of these must look at its module again.
    assert version(module.LIBRARY) == module.BUILT_FOR


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.LIBRARY)
def test_each_check_passes_on_the_installed_library(module: Any) -> None:
    module.check()


def test_all_checks_pass_together() -> None:
    check_private_attributes()


def _line(library: str, built_for: str, attribute: str) -> str:
    return (
        f"{library} {built_for} has no {attribute}, which live needs "
        f"(built for {library}=={built_for}); install {library}=={built_for}"
    )


def test_a_missing_class_attribute_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCRtpSender, "_send_keyframe")
    with pytest.raises(MissingPrivateAttribute) as caught:
        check_private_attributes()
    assert str(caught.value) == _line("aiortc", "1.16.0", "RTCRtpSender._send_keyframe")


def _dropping_after_init(cls: type, name: str) -> Any:
    original = cls.__init__  # type: ignore[misc]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        delattr(self, name)

    return init


def test_a_missing_name_mangled_attribute_is_found_on_a_real_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # aiortc renames `__octet_count` inside RTCRtpSender; only a real sender has it.
    name = "_RTCRtpSender__octet_count"
    monkeypatch.setattr(RTCRtpSender, "__init__", _dropping_after_init(RTCRtpSender, name))
    with pytest.raises(MissingPrivateAttribute) as caught:
        aiortc_private.check()
    assert str(caught.value) == _line("aiortc", "1.16.0", f"RTCRtpSender.{name}")


def test_a_missing_uvicorn_protocol_attribute_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = WebSocketsSansIOProtocol
    monkeypatch.setattr(cls, "__init__", _dropping_after_init(cls, "writable"))
    with pytest.raises(MissingPrivateAttribute) as caught:
        check_private_attributes()
    assert str(caught.value) == _line("uvicorn", "0.54.0", "WebSocketsSansIOProtocol.writable")


def test_a_changed_aioice_signature_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: Any, candidate: Any, host: str) -> None: ...

    monkeypatch.setattr(aioice_private, "_original", {})
    monkeypatch.setattr(aioice.Connection, "_add_remote_candidate", renamed)
    with pytest.raises(MissingPrivateAttribute) as caught:
        aioice_private.check()
    wanted = "Connection._add_remote_candidate(remote_candidate, network_host)"
    assert str(caught.value) == _line("aioice", "0.13.0", wanted)


def test_srtp_binding_attributes_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(pylibsrtp, "SRTP_MAX_TRAILER_LEN")
    with pytest.raises(MissingPrivateAttribute) as caught:
        srtp_private.check()
    assert str(caught.value) == _line("pylibsrtp", "1.0.0", "pylibsrtp.SRTP_MAX_TRAILER_LEN")


def test_the_uvicorn_factory_refuses_to_start_with_that_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    monkeypatch.setenv("LIVE_REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(SystemExit) as caught:
        app_from_environment()
    assert caught.value.code == "live: " + _line(
        "aiortc", "1.16.0", "RTCRtpReceiver._send_rtcp_pli"
    )


def test_fast_protect_matches_pylibsrtp() -> None:
    key = bytes(range(30))
    packets = [
        RtpPacket(payload_type=96, sequence_number=n, timestamp=9, ssrc=7, payload=b"x" * n)
        for n in (1, 500, 1300)
    ]
    plain = [p.serialize() for p in packets]
    ours = srtp_private.fast_protect(Session(Policy(key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)))
    theirs = Session(Policy(key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    protected = [ours(p) for p in plain]
    assert protected == [theirs.protect(p) for p in plain]
    receiver = Session(Policy(key, ssrc_type=Policy.SSRC_ANY_INBOUND))
    assert [receiver.unprotect(p) for p in protected] == plain


async def test_tapped_receiver_gives_frames_on_the_marker_bit() -> None:
    receiver = RTCRtpReceiver("video", FakeDtls())  # type: ignore[arg-type]
    got: list[tuple[EncodedFrame, int]] = []
    aiortc_private.tap_encoded_frames(receiver, "video", lambda f, ssrc: got.append((f, ssrc)))
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
    aiortc_private.on_keyframe_request(sender, lambda: calls.append(1))
    await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1, media_ssrc=2))
    assert calls == [1]


@pytest.fixture
def port_range() -> Iterator[tuple[int, int]]:
    low = 41000 + os.getpid() % 1000 * 10
    aioice_private.limit_udp_ports(low, low + 9)
    yield low, low + 9
    aioice_private.limit_udp_ports(0, 0)


async def test_host_candidates_bind_inside_the_port_range(port_range: tuple[int, int]) -> None:
    connection = aioice.Connection(ice_controlling=True, components=1)
    try:
        await connection.gather_candidates()
        ports = [c.port for c in connection.local_candidates if c.type == "host"]
        assert ports
        assert all(port_range[0] <= p <= port_range[1] for p in ports)
    finally:
        await connection.close()


async def test_a_vanished_private_attribute_is_an_error_not_a_silent_drop() -> None:
    # Before: send_frame caught AttributeError and returned False, so an aiortc upgrade
    # that renamed `_state` would have shown as black video with no error at all.
    pc = RTCPeerConnection()
    try:
        rtp_sender = pc.addTransceiver("video").sender
        viewer = ViewerSender("video", on_start=lambda: None)
        params = SenderParams(1, 2, 96, None, "0", None, None, {"vp8": (96, None)})
        viewer.start(params, aiortc_private.RtpLink(rtp_sender))
        del rtp_sender.transport._state
        with pytest.raises(AttributeError):
            viewer.send_frame([b"\x10frame"], 0, 0, b"", "vp8")
    finally:
        rtp_sender.transport._state = State.CLOSED
        await pc.close()
