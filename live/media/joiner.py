"""Parts of a replay joined into one file by copying their packets (no decoding or
encoding). Every part was written on the room's one media clock, so packets keep their
timestamps: the gap between two parts stays a gap. Blocking: run it on a thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from live.media.bitstream import avcc_to_annex_b
from live.media.mediaclock import RATES
from live.media.muxer import Muxer, MuxStats, picture_size


def _frames(path: Path, codec: str) -> Any:
    """(kind, position, keyframe, data) of each packet of one part, in file order."""
    with av.open(str(path)) as source:
        for packet in source.demux():
            if packet.pts is None or packet.size == 0:
                continue
            kind = packet.stream.type
            if kind not in RATES:
                continue
            data = bytes(packet)
            if kind == "video" and codec == "h264":
                data = avcc_to_annex_b(data)  # MP4 stores NAL units length-prefixed
            position = int(packet.pts * packet.time_base * RATES[kind])
            yield kind, position, bool(packet.is_keyframe), data


def join(paths: list[Path], codec: str, out: Path) -> MuxStats:
    """Write the packets of `paths` (parts of one codec, in order) into `out`."""
    muxer = Muxer(out, codec)
    tmp = out.with_name(out.name + ".tmp")
    muxer.path = tmp
    try:
        for path in paths:
            if not path.exists():
                continue
            for kind, position, keyframe, data in _frames(path, codec):
                if not muxer.opened:
                    size = picture_size(codec, data) if kind == "video" and keyframe else None
                    if size is None:
                        continue
                    muxer.open(size)
                muxer.write(kind, position, keyframe, data)
    finally:
        muxer.close()
    if tmp.exists():
        tmp.replace(out)
    return muxer.stats


def scan(path: Path, codec: str) -> MuxStats:
    """What a part holds, read back from its file (a part whose recorder never reported:
    its process died; everything up to its last complete cluster or fragment counts)."""
    stats = MuxStats()
    try:
        for kind, position, _, _ in _frames(path, codec):
            if kind == "video":
                stats.video_frames += 1
            else:
                stats.audio_frames += 1
            stats.saw(position * 1000 / RATES[kind])
    except (av.error.FFmpegError, OSError):
        pass  # a file cut off mid-write: what was read so far
    return stats
