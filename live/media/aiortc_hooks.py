"""Every use of aiortc's and aioice's private attributes, in one place (aiortc==1.16.0).

- `tap_encoded_frames`: replaces a receiver's jitter buffer so complete encoded frames
  (video: completed on the RTP marker bit) go to a callback instead of the decoder.
- `send_pli`: asks the publisher for a keyframe through the receiver's RTCP.
- `on_keyframe_request`: a viewer's PLI/FIR calls back instead of setting the encoder
  flag that the pre-encoded send path never reads.
- `limit_udp_ports`: host candidates bind inside a UDP port range.
tests/unit/test_aiortc_hooks.py fails loudly if an aiortc upgrade moves any of these.
"""

from __future__ import annotations

import asyncio
import random
import types
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender

from live.media.frames import EncodedFrame, FrameAssembler, vp8_starts_frame

FrameSink = Callable[[EncodedFrame, int], None]

_JITTER_ATTR = "_RTCRtpReceiver__jitter_buffer"


class _FrameTap:
    """Stands in for aiortc's JitterBuffer: `add()` never hands frames to the decoder."""

    def __init__(self, kind: str, sink: FrameSink, codec: str) -> None:
        self._sink = sink
        starts = vp8_starts_frame if codec == "vp8" else None
        self._assembler = FrameAssembler(starts_frame=starts) if kind == "video" else None

    def add(self, packet: Any) -> tuple[bool, None]:
        if self._assembler is None:
            # Opus: one packet is one frame.
            self._sink(EncodedFrame(packet._data, packet.timestamp), packet.ssrc)
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
    if not hasattr(receiver, _JITTER_ATTR):
        raise RuntimeError("aiortc's RTCRtpReceiver has no jitter buffer attribute to tap")
    setattr(receiver, _JITTER_ATTR, _FrameTap(kind, sink, codec))


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """Send a Picture Loss Indication for `media_ssrc` to the remote sender."""
    await receiver._send_rtcp_pli(media_ssrc)


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote receiver sends PLI or FIR for this sender."""
    # RTCRtpSender._handle_rtcp_packet calls self._send_keyframe(); shadow it per instance.
    sender._send_keyframe = callback  # type: ignore[method-assign]


_port_range: tuple[int, int] | None = None


class _RangeLoop:
    """The running loop, but host candidates bind to a port in the configured range."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(self, factory: Any, **kwargs: Any) -> Any:
        local = kwargs.get("local_addr")
        if _port_range is None or local is None or local[1] != 0:
            return await self._loop.create_datagram_endpoint(factory, **kwargs)
        low, high = _port_range
        ports = list(range(low, high + 1))
        start = random.randrange(len(ports))
        for port in ports[start:] + ports[:start]:
            try:
                return await self._loop.create_datagram_endpoint(
                    factory, **{**kwargs, "local_addr": (local[0], port)}
                )
            except OSError:
                continue
        raise OSError(f"no free UDP port in {low}-{high}")


class _AsyncioWithRange(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    def get_running_loop() -> Any:
        return _RangeLoop(asyncio.get_running_loop())


def limit_udp_ports(low: int, high: int) -> None:
    """Bind ICE host candidates to ports in [low, high]; (0, 0) lifts the limit."""
    global _port_range
    if low <= 0 or high <= 0:
        _port_range = None
        return
    if low > high:
        raise ValueError("udp_port_min must not exceed udp_port_max")
    _port_range = (low, high)
    # aioice.ice calls asyncio.get_running_loop().create_datagram_endpoint(...) for host
    # candidates; give that module an asyncio whose loop picks the port.
    if not isinstance(getattr(aioice.ice, "asyncio", None), _AsyncioWithRange):
        setattr(aioice.ice, "asyncio", _AsyncioWithRange("asyncio"))  # noqa: B010
