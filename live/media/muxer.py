"""Encoded frames into a file with PyAV, with no decoding and no encoding.

VP8 + Opus go into WebM, H.264 + Opus into fragmented MP4 (a file cut off by a crash still
plays up to its last fragment). The frames are written as they were forwarded: the same
bytes (H.264 Annex B is stored length-prefixed by the MP4 muxer, the NAL units unchanged),
at their positions on the room's media clock (`live.media.mediaclock`). Blocking: run it
on a thread (`live.media.recorder`), never on the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from live.media.bitstream import h264_dimensions, vp8_dimensions
from live.media.mediaclock import RATES

log = logging.getLogger("live.media")


@dataclass(frozen=True)
class Container:
    """How one video codec is stored."""

    format: str
    extension: str
    content_type: str
    options: dict[str, str]
    # Timestamp units of the file's streams: ms in Matroska, the RTP clocks in MP4.
    video_rate: int
    audio_rate: int


CONTAINERS = {
    "vp8": Container("webm", "webm", "video/webm", {}, 1000, 1000),
    "h264": Container(
        "mp4",
        "mp4",
        "video/mp4",
        # A fragment at each keyframe and at least every second, with an empty moov
        # written with the first fragment (delayed so its edit lists keep where each track
        # starts on the media clock): everything written before a crash stays playable.
        {
            "movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof",
            "frag_duration": "1000000",
        },
        RATES["video"],
        RATES["audio"],
    ),
}
# Opus frames from WebRTC: 20 ms each.
OPUS_FRAME_MS = 20


def picture_size(codec: str, keyframe: bytes) -> tuple[int, int] | None:
    """The picture size a keyframe announces (VP8 frame header, H.264 SPS)."""
    return vp8_dimensions(keyframe) if codec == "vp8" else h264_dimensions(keyframe)


@dataclass
class MuxStats:
    video_frames: int = 0
    audio_frames: int = 0
    first_ms: float | None = None
    last_ms: float = 0.0

    def saw(self, at_ms: float) -> None:
        if self.first_ms is None or at_ms < self.first_ms:
            self.first_ms = at_ms
        self.last_ms = max(self.last_ms, at_ms)


class Muxer:
    """One output file: `open` with the first keyframe's picture size, then `write`."""

    def __init__(self, path: Path, codec: str) -> None:
        self.path = path
        self.codec = codec
        self.kind = CONTAINERS[codec]
        self.stats = MuxStats()
        self._output: Any = None
        self._streams: dict[str, Any] = {}
        self._last: dict[str, int] = {}

    @property
    def opened(self) -> bool:
        return self._output is not None

    def open(self, size: tuple[int, int]) -> None:
        kind = self.kind
        self.path.parent.mkdir(parents=True, exist_ok=True)
        output = av.open(str(self.path), "w", format=kind.format, options=kind.options)
        video = output.add_mux_stream(self.codec, rate=30, width=size[0], height=size[1])
        video.time_base = Fraction(1, kind.video_rate)
        # Opus needs its identification header (OpusHead) in the file; PyAV lets a stream
        # carry one only through an encoder's context, which is opened for that header and
        # never given a frame: the packets written are the publisher's own.
        audio = output.add_stream("libopus", rate=RATES["audio"], layout="stereo")
        audio.time_base = Fraction(1, kind.audio_rate)
        self._output = output
        self._streams = {"video": video, "audio": audio}

    def write(self, kind: str, position: int, keyframe: bool, data: bytes) -> bool:
        """Write one frame at `position` (its kind's RTP units); False when it was dropped
        (a timestamp not after the previous one of its stream)."""
        rate = RATES[kind]
        stream_rate = self.kind.video_rate if kind == "video" else self.kind.audio_rate
        pts = position * stream_rate // rate
        last = self._last.get(kind)
        if last is not None and pts <= last:
            if kind == "audio":
                return False
            pts = last + 1
        self._last[kind] = pts
        packet = av.Packet(data)
        stream = self._streams[kind]
        packet.stream = stream
        packet.time_base = stream.time_base
        packet.pts = packet.dts = pts
        if kind == "audio":
            packet.duration = OPUS_FRAME_MS * stream_rate // 1000
            self.stats.audio_frames += 1
        else:
            self.stats.video_frames += 1
        packet.is_keyframe = keyframe
        self._output.mux(packet)
        self.stats.saw(pts * 1000 / stream_rate)
        return True

    def close(self) -> None:
        if self._output is not None:
            output, self._output = self._output, None
            output.close()
