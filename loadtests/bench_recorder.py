"""Recorder benchmark: what recording a room costs the event loop, and its muxing thread.

Feeds the bench stream (640x480 VP8 at 30 fps, about 1 Mbit/s, `bench_media`'s cached
loop) and 20 ms Opus packets to a `PartRecorder` as the relay does, as fast as it takes
them, and reports: the time `write` takes on the caller's thread (what forwarding pays,
per frame), and the muxing thread's CPU per second of media (what a recorded room costs).

    python -m loadtests.bench_recorder --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from live.media.recorder import PartRecorder, PartSummary
from loadtests.bench_media import FPS, encoded_loop


async def run(seconds: float) -> dict[str, float]:
    frames = encoded_loop()
    opus = b"\xfc" + bytes(79)  # an 80-byte Opus packet (20 ms); muxed, never decoded
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as folder:
        done: asyncio.Future[PartSummary] = loop.create_future()
        path = Path(folder) / "part-1.webm"
        cpu_before = time.process_time()
        recorder = PartRecorder(1, path, "vp8", done.set_result, loop)
        write_ns: list[int] = []
        count = int(seconds * FPS)
        for i in range(count):
            data = frames[i % len(frames)]
            started = time.perf_counter_ns()
            recorder.write("video", i * 3000, i % 60 == 0, data)
            write_ns.append(time.perf_counter_ns() - started)
            for j in range(i * 5 // 3, (i + 1) * 5 // 3):
                recorder.write("audio", j * 960, True, opus)
            if i % 30 == 0:
                await asyncio.sleep(0)  # let the loop breathe, as between frames
        recorder.close()
        summary = await done
        cpu = time.process_time() - cpu_before
    write_us = sorted(ns / 1000 for ns in write_ns)
    return {
        "media_s": seconds,
        "video_frames": summary.video_frames,
        "dropped": summary.dropped,
        "bytes_per_min": summary.bytes / seconds * 60,
        "write_us_p50": statistics.median(write_us),
        "write_us_p99": write_us[int(len(write_us) * 0.99)],
        # Feeding is nearly free (above), so this is the muxing thread's own.
        "cpu_per_media_s": cpu / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds))
    for name, value in result.items():
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
