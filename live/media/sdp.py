"""PURE: checking an SDP offer against the room's codec, and NAT address rewriting."""

from __future__ import annotations

import re

from live.errors import BadRequest, UnsupportedCodec

# settings.media.codec -> the rtpmap encoding name.
VIDEO_CODECS = {"vp8": "VP8", "h264": "H264"}
AUDIO_CODEC = "opus"
MAX_SDP_BYTES = 64 * 1024

_RTPMAP = re.compile(r"^a=rtpmap:\d+ ([A-Za-z0-9_.-]+)/", re.MULTILINE)


def check_offer(text: str, codec: str) -> set[str]:
    """The media kinds of a valid offer, or 400 `bad_request` / `unsupported_codec`."""
    if not text.startswith("v=0") or "\nm=" not in text:
        raise BadRequest("the body must be an SDP offer (application/sdp)")
    kinds: set[str] = set()
    for section in text.split("\nm=")[1:]:
        kind = section.split(" ", 1)[0]
        if kind not in ("audio", "video"):
            continue
        names = {name.lower() for name in _RTPMAP.findall(section)}
        wanted = VIDEO_CODECS[codec].lower() if kind == "video" else AUDIO_CODEC
        if wanted not in names:
            shown = VIDEO_CODECS[codec] if kind == "video" else "Opus"
            raise UnsupportedCodec(f"this room sends {kind} as {shown}; the offer lacks it")
        kinds.add(kind)
    if not kinds:
        raise BadRequest("the SDP offer has no audio or video")
    return kinds


def rewrite_host_candidates(sdp: str, public_ip: str) -> str:
    """Announce `public_ip` in place of the host candidates' addresses (1:1 NAT)."""
    if not public_ip:
        return sdp
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:") and " typ host" in line:
            parts = line.split(" ")
            if len(parts) > 5:
                parts[4] = public_ip
                line = " ".join(parts)
        lines.append(line)
    return "\r\n".join(lines)
