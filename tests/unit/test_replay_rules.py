"""A replay's parts, runs and view; the byte ranges its files answer: no I/O."""

from __future__ import annotations

import orjson
import pytest

from live.api.replays import RangeNotSatisfiable, check_range
from live.errors import BadRequest
from live.replay.rules import FILE_RE, Part, replay_view, runs_of


def part(n: int, codec: str = "vp8", frames: int = 30, first: float = 0.0) -> Part:
    return Part(n, codec, True, f"part-{n}.webm", frames, first, first + 1000)


def test_parts_of_one_codec_join_and_a_codec_change_starts_a_run() -> None:
    runs = runs_of([part(3, "h264", first=5000), part(1), part(2, first=2000), part(4, frames=0)])
    assert [(r.codec, [p.part for p in r.parts]) for r in runs] == [("vp8", [1, 2]), ("h264", [3])]
    assert (runs[0].at_ms, runs[0].end_ms) == (0.0, 3000.0)
    assert runs_of([part(1, frames=0)]) == []


def test_only_recorded_file_names_are_served() -> None:
    for name in ("part-1.webm", "replay-12.mp4"):
        assert FILE_RE.match(name)
    for name in ("../x.webm", "part-1.webm.tmp", "part-a.webm", "other.mp4", "part-1.mkv"):
        assert not FILE_RE.match(name)


def test_the_view_of_a_ready_replay() -> None:
    runs = [{"file": "part-1.webm", "codec": "vp8", "at_ms": 0, "duration_ms": 9000}]
    fields = {
        "status": b"ready",
        "file": b"part-1.webm",
        "duration_ms": b"9000",
        "content_type": b"video/webm",
        "codec": b"vp8",
        "runs": orjson.dumps(runs),
        "title": b"Autumn linen",
        "part:1": b"{}",
    }
    chapters = [{"at_ms": 1500, "type": "pin", "title": "Mug", "sku": "mug"}]
    view = replay_view("r_1", fields, chapters, "/api/rooms/r_1/replay/files")
    assert view["status"] == "ready" and view["duration_ms"] == 9000
    assert view["url"] == "/api/rooms/r_1/replay/files/part-1.webm"
    assert view["chapters"] == chapters and view["title"] == "Autumn linen"
    assert view["parts"][0]["url"] == view["url"]
    deleted = replay_view("r_1", {"status": b"deleted"}, chapters, "")
    assert deleted["status"] == "none" and deleted["chapters"] == [] and deleted["url"] is None


@pytest.mark.parametrize("header", [None, "bytes=0-99", "bytes=100-", "bytes=-500", "bytes=0-5000"])
def test_ranges_that_fit(header: str | None) -> None:
    check_range(header, 1000)


@pytest.mark.parametrize("header", ["pages=0-1", "bytes=-", "bytes=1-2,5-6", "bytes=a-b"])
def test_malformed_ranges_are_bad_requests(header: str) -> None:
    with pytest.raises(BadRequest):
        check_range(header, 1000)


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_ranges_outside_the_file(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        check_range(header, 1000)
    assert caught.value.status == 416
