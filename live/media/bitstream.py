"""PURE: what a recorder must know of an encoded picture without decoding it.

The picture size of a VP8 keyframe (RFC 6386 section 9.1) and of an H.264 sequence
parameter set (ITU-T H.264 7.3.2.1.1), and the NAL units of an Annex B byte stream.
"""

from __future__ import annotations

VP8_START_CODE = b"\x9d\x01\x2a"
NAL_SPS = 7


def vp8_dimensions(frame: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 keyframe, None for any other frame."""
    if len(frame) < 10 or frame[0] & 1 or frame[3:6] != VP8_START_CODE:
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None


def h264_nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B stream (start codes 00 00 01 or 00 00 00 01 removed)."""
    units = []
    start = data.find(b"\x00\x00\x01")
    while start != -1:
        begin = start + 3
        following = data.find(b"\x00\x00\x01", begin)
        end = len(data) if following == -1 else following
        unit = data[begin:end]
        if following != -1:
            unit = unit.rstrip(b"\x00")  # the next start code's leading zero byte(s)
        if unit:
            units.append(unit)
        start = following
    return units


def h264_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first sequence parameter set in `data`, if any."""
    for unit in h264_nal_units(data):
        if unit[0] & 0x1F == NAL_SPS:
            try:
                return _sps_dimensions(unit)
            except IndexError:
                return None
    return None


class _Bits:
    """Reads an RBSP (emulation prevention bytes removed) bit by bit."""

    def __init__(self, nal: bytes) -> None:
        self._data = nal.replace(b"\x00\x00\x03", b"\x00\x00")
        self._at = 0

    def bit(self) -> int:
        byte = self._data[self._at >> 3]
        value = (byte >> (7 - (self._at & 7))) & 1
        self._at += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)


# Profiles whose SPS carries chroma format, bit depths and scaling matrices.
_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last, following = 8, 8
    for _ in range(size):
        if following:
            following = (last + bits.se() + 256) % 256
        last = following or last


def _sps_dimensions(nal: bytes) -> tuple[int, int]:
    bits = _Bits(nal[1:])
    profile = bits.bits(8)
    bits.bits(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma_format = 1
    if profile in _HIGH_PROFILES:
        chroma_format = bits.ue()
        if chroma_format == 3:
            bits.bit()  # separate_colour_plane_flag
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.bit()  # qpprime_y_zero_transform_bypass_flag
        if bits.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if bits.bit():
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    order_type = bits.ue()
    if order_type == 0:
        bits.ue()
    elif order_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.bit()
    if not frame_mbs_only:
        bits.bit()  # mb_adaptive_frame_field_flag
    bits.bit()  # direct_8x8_inference_flag
    crop = (0, 0, 0, 0)
    if bits.bit():  # frame_cropping_flag
        crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue())
    # Crop units (7.4.2.1.1): SubWidthC and SubHeightC of the chroma format.
    crop_x = 1 if chroma_format in (0, 3) else 2
    crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
    width = width_mbs * 16 - crop_x * (crop[0] + crop[1])
    height = height_units * 16 * (2 - frame_mbs_only) - crop_y * (crop[2] + crop[3])
    return width, height


def avcc_to_annex_b(data: bytes, length_size: int = 4) -> bytes:
    """Length-prefixed NAL units (as MP4 stores H.264) back to an Annex B stream."""
    out = []
    at = 0
    while at + length_size <= len(data):
        size = int.from_bytes(data[at : at + length_size], "big")
        at += length_size
        out.append(b"\x00\x00\x00\x01" + data[at : at + size])
        at += size
    return b"".join(out)
