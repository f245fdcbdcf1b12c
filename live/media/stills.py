"""One encoded keyframe to a small JPEG, with PyAV (FFmpeg). CPU only, no I/O: the
thumbnailer runs it in a thread, off the event loop. `recording_still` reads a keyframe
from a replay's recording (blocking: the replay finisher runs it on a thread)."""

from __future__ import annotations

import fractions
from pathlib import Path

import av

from live.media.bitstream import avcc_to_annex_b


def scaled_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """`target_width` wide (never wider than the picture), the aspect kept, both even
    (4:2:0 chroma needs even sizes)."""
    new_width = max(2, min(target_width, width) // 2 * 2)
    new_height = max(2, round(height * new_width / width / 2) * 2)
    return new_width, new_height


def still_jpeg(codec: str, keyframe: bytes, target_width: int) -> bytes | None:
    """The keyframe decoded on its own (a fresh decoder: a keyframe needs no other frame),
    scaled and encoded as a baseline JPEG; None when it does not decode."""
    # FFmpeg's decoder of the room's codec (the names of live.media.sdp VIDEO_CODECS).
    if codec == "h264":
        decoder = av.CodecContext.create("h264", "r")
    else:
        decoder = av.CodecContext.create("vp8", "r")
    try:
        frames = [*decoder.decode(av.Packet(keyframe)), *decoder.decode(None)]
    except av.error.FFmpegError:
        return None
    if not frames:
        return None
    frame = frames[-1]
    width, height = scaled_size(frame.width, frame.height, target_width)
    small = frame.reformat(width=width, height=height, format="yuvj420p")
    small.pts = 0
    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuvj420p"
    encoder.time_base = fractions.Fraction(1, 1)
    return b"".join(bytes(packet) for packet in encoder.encode(small))


def recording_still(path: Path, codec: str, target_width: int) -> bytes | None:
    """A JPEG of the keyframe nearest the middle of a recording (the first one when the
    file cannot seek), or None when no keyframe decodes."""
    try:
        with av.open(str(path)) as source:
            video = source.streams.video[0]
            middle = (source.duration or 0) // 2  # in av.time_base units
            if middle:
                try:
                    source.seek(middle, backward=True)
                except av.error.FFmpegError:
                    source.seek(0)
            for packet in source.demux(video):
                if packet.is_keyframe and packet.size:
                    data = bytes(packet)
                    if codec == "h264":
                        data = avcc_to_annex_b(data)  # MP4 stores NAL units length-prefixed
                    jpeg = still_jpeg(codec, data, target_width)
                    if jpeg:
                        return jpeg
    except (av.error.FFmpegError, OSError, IndexError):
        pass
    return None
