"""Real publishers for the replay tests, and reading a replay back (ffprobe and PyAV).

The publisher is a real aiortc peer encoding real pictures (libvpx or libx264, small so
tests stay light) and real Opus; what the server records is checked with Debian's
`ffprobe` and decoded with PyAV.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack
from prometheus_client import REGISTRY

from tests.conftest import RECORDINGS_DIR, LiveServer
from tests.media.peers import Peer, SmallPicture, negotiate, only_codec

FFPROBE = shutil.which("ffprobe")
needs_ffprobe = pytest.mark.skipif(FFPROBE is None, reason="ffprobe (Debian's ffmpeg) is missing")


async def publish_real(
    http: httpx.AsyncClient, room_id: str, token: str, codec: str = "vp8"
) -> Peer:
    """A host publishing encoded pictures and Opus; `codec` alone in the offer, as OBS
    offers H.264 (aiortc gathers every candidate before offering, no trickle: OBS's shape)."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video = pc.addTransceiver(SmallPicture(), direction="sendonly")
    video.setCodecPreferences(only_codec("video", codec))
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    answer = await negotiate(http, f"/api/rooms/{room_id}/whip", pc, token)
    return Peer(pc, answer.headers["location"], answer=answer)


def forwarded_frames(kind: str = "video") -> float:
    """Frames this process's relays have forwarded so far (all rooms)."""
    return REGISTRY.get_sample_value("live_media_frames_total", {"kind": kind}) or 0.0


async def until(check: Any, within: float = 30.0, every: float = 0.1) -> Any:
    """The first truthy result of `check()` (awaited when it is a coroutine)."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(every)


async def replay_of(server: LiveServer, room_id: str) -> dict[str, Any]:
    answer = await server.http.get(f"/api/rooms/{room_id}/replay")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def ready_replay(server: LiveServer, room_id: str, within: float = 40.0) -> dict[str, Any]:
    async def ready() -> dict[str, Any] | None:
        replay = await replay_of(server, room_id)
        return replay if replay["status"] == "ready" else None

    found: dict[str, Any] = await until(ready, within, every=0.2)
    return found


async def download(server: LiveServer, url: str, into: Path) -> Path:
    answer = await server.http.get(url)
    assert answer.status_code == 200
    path = into / url.rsplit("/", 1)[-1]
    path.write_bytes(answer.content)
    return path


def recorded(room_id: str, name: str) -> Path:
    return Path(RECORDINGS_DIR) / room_id / name


def ffprobe(path: Path) -> dict[str, Any]:
    """Streams (with packet counts) and format of a file, as ffprobe reads it."""
    assert FFPROBE is not None
    command = [FFPROBE, "-v", "error", "-count_packets", "-show_streams", "-show_format"]
    out = subprocess.run(
        [*command, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def stream(probe: dict[str, Any], kind: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in probe["streams"] if s["codec_type"] == kind]
    assert len(found) == 1, probe
    return found[0]
