"""Picture sizes and NAL units of real encoded frames (encoded here with PyAV)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import pytest

from live.media.bitstream import (
    avcc_to_annex_b,
    h264_dimensions,
    h264_nal_units,
    vp8_dimensions,
)


def first_frame(codec: str, size: tuple[int, int], **options: str) -> bytes:
    encoder: Any = av.CodecContext.create(codec, "w")
    encoder.width, encoder.height = size
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, 30)
    encoder.options = options
    frame = av.VideoFrame(size[0], size[1], "yuv420p")
    frame.pts = 0
    packets = [bytes(p) for p in encoder.encode(frame)] + [bytes(p) for p in encoder.encode()]
    return packets[0]


@pytest.mark.parametrize("size", [(160, 120), (1280, 720), (638, 358)])
def test_picture_sizes_of_keyframes(size: tuple[int, int]) -> None:
    assert vp8_dimensions(first_frame("libvpx", size)) == size
    for profile in ("baseline", "high"):
        assert h264_dimensions(first_frame("libx264", size, profile=profile)) == size


def test_only_keyframes_say_their_size() -> None:
    assert vp8_dimensions(b"\x31" + bytes(20)) is None  # an interframe
    assert vp8_dimensions(b"\x10" + bytes(20)) is None  # no start code
    assert h264_dimensions(b"\x00\x00\x00\x01\x41" + bytes(10)) is None  # no SPS


def test_nal_units_and_their_length_prefixed_form() -> None:
    data = first_frame("libx264", (160, 120), profile="baseline")
    units = h264_nal_units(data)
    assert [u[0] & 0x1F for u in units][:2] == [7, 8]  # SPS, PPS first
    prefixed = b"".join(len(u).to_bytes(4, "big") + u for u in units)
    assert h264_nal_units(avcc_to_annex_b(prefixed)) == units
    assert h264_nal_units(b"\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x41\x9a") == [
        b"\x09\xf0",
        b"\x41\x9a",
    ]
