"""Every use of aiortc's private attributes, in one place (built for aiortc==1.16.0).

- `tap_encoded_frames`: replaces a receiver's jitter buffer so complete encoded frames
  (video: completed on the RTP marker bit) go to a callback instead of the decoder.
- `send_pli`: asks the publisher for a keyframe through the receiver's RTCP.
- `on_keyframe_request`: a viewer's PLI/FIR calls back instead of setting the encoder
  flag that the pre-encoded send path never reads.
- `on_sender_start` / `RtpLink`: a sender's negotiated parameters, and a synchronous
  SRTP-and-sendto path that bypasses the sender's per-packet coroutine chain; NACKs and
  sender reports of that sender are served from our own state (`live.media.sender`).
  Its aioice and pylibsrtp parts are in `aioice_private` and `srtp_private`.
- `packetizer`: aiortc's VP8/H.264 RTP packetizers, run once per frame per room.
`check()` runs at start-up: a missing attribute stops the server with one line.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs import depayload
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport, State
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters

from live.media.aioice_private import nominated_route
from live.media.frames import EncodedFrame, FrameAssembler, vp8_starts_frame
from live.media.srtp_private import fast_protect
from live.private_attrs import in_fresh_loop, require

LIBRARY = "aiortc"
BUILT_FOR = "1.16.0"

FrameSink = Callable[[EncodedFrame, int], None]

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"
_REPORT_ATTRS = (
    "_RTCRtpSender__ntp_timestamp",
    "_RTCRtpSender__rtp_timestamp",
    "_RTCRtpSender__packet_count",
    "_RTCRtpSender__octet_count",
)
# What the code below reads or replaces, by owner; `check()` looks each one up.
RECEIVER_ATTRIBUTES = (_JITTER_ATTR, "_send_rtcp_pli")
SENDER_ATTRIBUTES = ("_send_keyframe", "_retransmit", "_ssrc", "_rtx_ssrc", *_REPORT_ATTRS)
DTLS_ATTRIBUTES = ("_state", "_tx_srtp")
ICE_ATTRIBUTES = ("_connection",)
VP8_ATTRIBUTES = ("_packetize", "picture_id")
H264_ATTRIBUTES = ("_packetize", "_split_bitstream")
CODEC_NAMES = {"vp8": "video/VP8", "h264": "video/H264", "opus": "audio/opus"}


class _FrameTap:
    """Stands in for aiortc's JitterBuffer: `add()` never hands frames to the decoder."""

    def __init__(self, kind: str, sink: FrameSink, codec: str) -> None:
        self._sink = sink
        name = codec if kind == "video" else "opus"
        parameters = RTCRtpCodecParameters(mimeType=CODEC_NAMES[name], clockRate=90000)
        # The receiver already depayloaded the packet, but keeps the result in a private
        # attribute; doing it again is one slice per publisher packet.
        self._data_of: Callable[[Any], bytes] = lambda packet: depayload(parameters, packet.payload)
        starts = vp8_starts_frame if codec == "vp8" else None
        self._assembler = (
            FrameAssembler(self._data_of, starts_frame=starts) if kind == "video" else None
        )

    def add(self, packet: Any) -> tuple[bool, None]:
        if self._assembler is None:
            # Opus: one packet is one frame.
            self._sink(EncodedFrame(self._data_of(packet), packet.timestamp), packet.ssrc)
        else:
            for frame in self._assembler.add(packet):
                self._sink(frame, packet.ssrc)
        return False, None


def tap_encoded_frames(
    receiver: RTCRtpReceiver, kind: str, sink: FrameSink, codec: str = "vp8"
) -> None:
    """Send the receiver's complete encoded frames to `sink(frame, ssrc)`; nothing is decoded.

    `codec` is the negotiated video codec ("vp8" or "h264"); VP8 frame starts are exact.
    """
    setattr(receiver, _JITTER_ATTR, _FrameTap(kind, sink, codec))


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a Picture Loss Indication for `media_ssrc` to the remote sender."""
    await receiver._send_rtcp_pli(media_ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote receiver sends PLI or FIR for this sender."""
    # RTCRtpSender._handle_rtcp_packet calls self._send_keyframe(); shadow it per instance.
    sender._send_keyframe = callback  # type: ignore[method-assign]


# Linux UDP segmentation offload (setsockopt level SOL_UDP, option UDP_SEGMENT).
GSO = sys.platform == "linux"
SOL_UDP, UDP_SEGMENT = 17, 103
GSO_MAX_SEGMENTS = 32


def _u16(value: int) -> bytes:
    return struct.pack("=H", value)


def _uniform(packets: list[bytes]) -> bool:
    """GSO cuts a buffer into equal segments; only the last one may be shorter."""
    size = len(packets[0])
    return len(packets[-1]) <= size and all(len(p) == size for p in packets[1:-1])


ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
MID = "urn:ietf:params:rtp-hdrext:sdes:mid"


@dataclass(frozen=True)
class SenderParams:
    """What a started sender negotiated: its SSRCs, payload types, header extension ids."""

    ssrc: int
    rtx_ssrc: int
    payload_type: int
    rtx_payload_type: int | None
    mid: str | None
    mid_id: int | None
    abs_send_time_id: int | None
    # Every negotiated codec ("vp8", "h264", "opus") -> (payload type, its RTX payload
    # type): a viewer answered with both video codecs is sent whichever the room carries.
    payload_types: dict[str, tuple[int, int | None]]


def negotiated_payload_types(codecs: list[Any]) -> dict[str, tuple[int, int | None]]:
    """Codec name -> (payload type, RTX payload type) of the first entry of each codec."""
    rtx = {c.parameters.get("apt"): c.payloadType for c in codecs if c.name.lower() == "rtx"}
    found: dict[str, tuple[int, int | None]] = {}
    for codec in codecs:
        name = codec.name.lower()
        if name != "rtx" and name not in found and codec.payloadType is not None:
            found[name] = (codec.payloadType, rtx.get(codec.payloadType))
    return found


class RtpLink:
    """One started sender's way out: SRTP-protect, then send, synchronously.

    aiortc's own path awaits three coroutines per packet; the socket and the SRTP session
    used here are the same. A frame's packets leave in one `sendmsg` with UDP
    segmentation offload (Linux GSO) where the kernel allows it: one system call per
    frame instead of one per packet.
    """

    __slots__ = ("_connection", "_dtls", "_gso", "_gso_for", "_protect", "_sender", "_srtp")

    def __init__(self, sender: RTCRtpSender) -> None:
        self._sender = sender
        self._dtls = sender.transport
        self._connection = self._dtls.transport._connection
        # A duplicate of the ICE socket's descriptor, for sendmsg (uvloop offers none).
        self._gso: socket.socket | None = None
        self._gso_for: Any = None
        self._srtp: pylibsrtp.Session | None = None
        self._protect: Callable[[bytes], bytes] = bytes

    def output(self) -> tuple[Callable[[bytes], bytes], Callable[[list[bytes]], None]]:
        """(protect, send) for the packets of one frame; ConnectionError if down."""
        dtls = self._dtls
        if dtls._state is not State.CONNECTED:
            raise ConnectionError("the DTLS transport is not connected")
        route = nominated_route(self._connection)
        if route is None:
            raise ConnectionError("no ICE pair to send on")
        transport, addr = route
        sendto = transport.sendto
        if self._gso_for is not transport:
            self._open_gso(transport)
        gso = self._gso

        def send(packets: list[bytes]) -> None:
            at = 0
            if gso is not None and len(packets) > 1 and _uniform(packets):
                segment = _u16(len(packets[0]))
                try:
                    while at < len(packets):
                        batch = packets[at : at + GSO_MAX_SEGMENTS]
                        gso.sendmsg([b"".join(batch)], [(SOL_UDP, UDP_SEGMENT, segment)], 0, addr)
                        at += len(batch)
                    return
                except BlockingIOError:
                    pass  # the socket buffer is full: the rest queue in the transport
                except OSError:
                    # No offload here (e.g. a device without checksum offload): stop trying.
                    self.close()
            for packet in packets[at:]:
                sendto(packet, addr)

        tx = dtls._tx_srtp
        if self._srtp is not tx:
            self._srtp, self._protect = tx, fast_protect(tx)
        return self._protect, send

    def _open_gso(self, transport: Any) -> None:
        self.close()
        self._gso_for = transport
        if not GSO:
            return
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        dup = socket.socket(fileno=os.dup(sock.fileno()))
        dup.setblocking(False)
        self._gso = dup

    def close(self) -> None:
        """Release the duplicated descriptor (the ICE socket itself is aioice's)."""
        if self._gso is not None:
            self._gso.close()
        self._gso = None

    def report(self, ntp_time: int, rtp_timestamp: int, packets: int, octets: int) -> None:
        """What the sender's RTCP task puts in its next sender report."""
        # Literal names, not a loop over _REPORT_ATTRS: this runs per frame and viewer.
        sender: Any = self._sender
        sender._RTCRtpSender__ntp_timestamp = ntp_time
        sender._RTCRtpSender__rtp_timestamp = rtp_timestamp
        sender._RTCRtpSender__packet_count = packets
        sender._RTCRtpSender__octet_count = octets

    def on_nack(self, callback: Callable[[int], None]) -> None:
        """Serve the remote end's NACKs (lost sequence numbers) with `callback(seq)`."""

        async def retransmit(sequence_number: int) -> None:
            callback(sequence_number)

        self._sender._retransmit = retransmit  # type: ignore[method-assign]


def on_sender_start(
    sender: RTCRtpSender, callback: Callable[[SenderParams, RtpLink], None]
) -> None:
    """Call `callback(params, link)` once the sender is negotiated and its DTLS is up."""
    original = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original(parameters)
        codec = parameters.codecs[0]
        assert codec.payloadType is not None, "a negotiated codec has a payload type"
        rtx = None
        for other in parameters.codecs:
            if other.name.lower() == "rtx" and other.parameters.get("apt") == codec.payloadType:
                rtx = other.payloadType
                break
        ids = {ext.uri: ext.id for ext in parameters.headerExtensions}
        params = SenderParams(
            ssrc=sender._ssrc,
            rtx_ssrc=sender._rtx_ssrc,
            payload_type=codec.payloadType,
            rtx_payload_type=rtx,
            mid=parameters.muxId or None,
            mid_id=ids.get(MID),
            abs_send_time_id=ids.get(ABS_SEND_TIME),
            payload_types=negotiated_payload_types(parameters.codecs),
        )
        callback(params, RtpLink(sender))

    sender.send = send  # type: ignore[method-assign]


def packetizer(codec: str) -> Callable[[bytes], list[bytes]]:
    """RTP payloads of one encoded frame, with aiortc's packetizer for `codec`."""
    if codec == "vp8":
        encoder = Vp8Encoder()

        def vp8(data: bytes) -> list[bytes]:
            payloads: list[bytes] = Vp8Encoder._packetize(data, encoder.picture_id)
            encoder.picture_id = (encoder.picture_id + 1) % (1 << 15)
            return payloads

        return vp8
    if codec == "h264":
        h264 = H264Encoder()

        def annex_b(data: bytes) -> list[bytes]:
            payloads: list[bytes] = h264._packetize(h264._split_bitstream(data))
            return payloads

        return annex_b
    # Opus: one packet is one frame.
    return lambda data: [data]


def check() -> None:
    """Every attribute used above, on real aiortc objects: a peer connection's receiver,
    sender and transports, and the codecs' packetizers."""
    in_fresh_loop(_check_objects)
    require(LIBRARY, BUILT_FOR, Vp8Encoder(), "Vp8Encoder", VP8_ATTRIBUTES)
    require(LIBRARY, BUILT_FOR, H264Encoder(), "H264Encoder", H264_ATTRIBUTES)
    require(LIBRARY, BUILT_FOR, State, "rtcdtlstransport.State", ("CONNECTED",))


async def _check_objects() -> None:
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video")
        receiver, sender = transceiver.receiver, transceiver.sender
        require(LIBRARY, BUILT_FOR, receiver, "RTCRtpReceiver", RECEIVER_ATTRIBUTES)
        require(LIBRARY, BUILT_FOR, sender, "RTCRtpSender", SENDER_ATTRIBUTES)
        dtls: RTCDtlsTransport = sender.transport
        require(LIBRARY, BUILT_FOR, dtls, "RTCDtlsTransport", DTLS_ATTRIBUTES)
        ice: RTCIceTransport = dtls.transport
        require(LIBRARY, BUILT_FOR, ice, "RTCIceTransport", ICE_ATTRIBUTES)
    finally:
        await pc.close()
