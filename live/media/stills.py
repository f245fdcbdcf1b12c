"""One encoded keyframe to a small JPEG, with PyAV (FFmpeg). CPU only, no I/O: the
thumbnailer runs it in a thread, off the event loop."""

from __future__ import annotations

import fractions

import av


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
