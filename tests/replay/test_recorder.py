"""The part recorder and the joiner on real encoded frames (libvpx, libx264, libopus via
PyAV), read back with ffprobe: the muxing thread, a disk that falls behind, a failing
disk, and parts of a replay joined with their gap."""

from __future__ import annotations

import asyncio
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from live.media import recorder as recorder_module
from live.media.joiner import join
from live.media.muxer import Muxer
from live.media.recorder import PartRecorder, PartSummary
from tests.replay.helpers import ffprobe, needs_ffprobe, stream
from tests.replay.test_recording import video_packets

pytestmark = needs_ffprobe


def encoded_video(codec: str, count: int) -> list[bytes]:
    encoder = av.CodecContext.create("libvpx" if codec == "vp8" else "libx264", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.time_base = Fraction(1, 30)
    if codec == "h264":
        encoder.options = {"profile": "baseline", "tune": "zerolatency"}
    packets: list[bytes] = []
    for i in range(count):
        frame = av.VideoFrame(160, 120, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([i * 7 % 256]) * plane.buffer_size)
        frame.pts = i
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def encoded_audio(count: int) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "s16"
    packets: list[bytes] = []
    for i in range(count):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 48000, i * 960
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def feed(write: Any, codec: str, video: list[bytes], audio: list[bytes], start_ms: int) -> None:
    """Frames as the relay hands them over: interleaved, at their media clock positions."""
    for i, data in enumerate(video):
        at = start_ms + i * 1000 // 30
        write("video", at * 90, i == 0, data)
        for j in range(i * 5 // 3, (i + 1) * 5 // 3):
            if j < len(audio):
                write("audio", (start_ms + j * 20) * 48, True, audio[j])


async def recorded_part(path: Path, codec: str, frames: int = 60) -> PartSummary:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[PartSummary] = loop.create_future()
    recorder = PartRecorder(1, path, codec, done.set_result, loop)
    recorder.write("audio", 0, True, encoded_audio(1)[0])  # before the first keyframe: kept
    recorder.write("video", 10, False, b"\x01" * 50)  # no keyframe yet: left out
    feed(recorder.write, codec, encoded_video(codec, frames), encoded_audio(frames * 2), 0)
    recorder.close()
    return await asyncio.wait_for(done, 30)


@pytest.mark.parametrize("codec", ["vp8", "h264"])
async def test_a_part_is_muxed_on_its_own_thread(codec: str, tmp_path: Path) -> None:
    path = tmp_path / ("part-1.webm" if codec == "vp8" else "part-1.mp4")
    summary = await recorded_part(path, codec)
    assert (summary.video_frames, summary.dropped, summary.error) == (60, 0, "")
    assert summary.audio_frames > 60 and summary.bytes == path.stat().st_size
    probe = ffprobe(path)
    assert stream(probe, "video")["codec_name"] == codec
    assert int(stream(probe, "video")["nb_read_packets"]) == 60
    assert stream(probe, "audio")["codec_name"] == "opus"
    assert abs(float(probe["format"]["duration"]) - 2.0) < 0.1


async def test_frames_beyond_a_full_queue_are_dropped_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "MAX_QUEUED", 10)
    disk = threading.Event()  # a disk that does not answer until set
    opened = Muxer.open

    def slow_open(self: Muxer, size: tuple[int, int]) -> None:
        disk.wait(10)
        opened(self, size)

    monkeypatch.setattr(Muxer, "open", slow_open)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[PartSummary] = loop.create_future()
    recorder = PartRecorder(1, tmp_path / "part-1.webm", "vp8", done.set_result, loop)
    video = encoded_video("vp8", 40)
    for i, data in enumerate(video):
        recorder.write("video", i * 3000, i == 0, data)  # returns at once, every time
    assert recorder.dropped >= 40 - 10 - 1
    disk.set()
    recorder.close()
    summary = await asyncio.wait_for(done, 30)
    assert summary.video_frames + summary.dropped == 40 and summary.dropped > 0


async def test_a_failing_disk_ends_the_part_with_an_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    summary = await recorded_part(blocked / "part-1.webm", "vp8", frames=5)
    assert summary.error and summary.video_frames == 0


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_parts_join_into_one_file_with_their_gap(codec: str, tmp_path: Path) -> None:
    extension = "webm" if codec == "vp8" else "mp4"
    parts = []
    for n, start_ms in ((1, 0), (2, 5000)):
        muxer = Muxer(tmp_path / f"part-{n}.{extension}", codec)
        muxer.open((160, 120))
        feed(muxer.write, codec, encoded_video(codec, 30), encoded_audio(60), start_ms)
        muxer.close()
        parts.append(muxer.path)
    out = tmp_path / f"replay-1.{extension}"
    stats = join(parts, codec, out)
    assert stats.video_frames == 60
    times = [round(at) for at, _ in video_packets(out)]
    assert times[:2] == [0, 33] and times[29] == 966 and times[30] == 5000
    probe = ffprobe(out)
    assert int(stream(probe, "video")["nb_read_packets"]) == 60
    assert abs(float(probe["format"]["duration"]) - 6.0) < 0.1
    # The joined packets are the parts' own (MP4 or not).
    joined = [data for _, data in video_packets(out)]
    assert joined == [data for path in parts for _, data in video_packets(path)]
