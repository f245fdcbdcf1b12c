"""PURE (aiortc's SDP parser only): an offer checked against the room's codecs; NAT rewriting."""

from __future__ import annotations

from aiortc.sdp import SessionDescription

from live.errors import BadRequest, UnsupportedCodec

# settings.media.codec -> the rtpmap encoding name.
VIDEO_CODECS = {"vp8": "VP8", "h264": "H264"}
AUDIO_CODEC = "opus"
MAX_SDP_BYTES = 64 * 1024


def _parse(text: str) -> SessionDescription:
    if not text.startswith("v=0"):
        raise BadRequest("the body must be an SDP offer (application/sdp)")
    try:
        return SessionDescription.parse(text)
    except Exception as exc:  # the parser raises anything from AssertionError to ValueError
        raise BadRequest(f"the SDP offer could not be parsed: {exc!r}") from exc


def _offered(text: str) -> tuple[set[str], list[str]]:
    """The offer's media kinds, and its video codecs that a room may carry, in its order."""
    kinds: set[str] = set()
    codecs: list[str] = []
    for media in _parse(text).media:
        if media.kind not in ("audio", "video"):
            continue
        # The m= line lists payload types in the sender's order of preference.
        order = {str(fmt): i for i, fmt in enumerate(media.fmt)}
        listed = sorted(media.rtp.codecs, key=lambda c: order.get(str(c.payloadType), len(order)))
        names = [c.mimeType.split("/", 1)[-1].lower() for c in listed]
        if media.kind == "audio" and AUDIO_CODEC not in names:
            raise UnsupportedCodec("this server sends audio as Opus; the offer lacks it")
        if media.kind == "video":
            codecs = [c for c in dict.fromkeys(names) if c in VIDEO_CODECS]
            if not codecs:
                raise UnsupportedCodec("rooms carry video as VP8 or H264; the offer has neither")
        kinds.add(media.kind)
    if not kinds:
        raise BadRequest("the SDP offer has no audio or video")
    # WebRTC media is DTLS-SRTP: without a fingerprint no handshake can ever succeed, and
    # aiortc would only fail later, after answering 201.
    if "a=fingerprint:" not in text:
        raise BadRequest("the SDP offer has no DTLS fingerprint (a=fingerprint)")
    return kinds, codecs


def check_publish_offer(text: str, preferred: str) -> tuple[set[str], str]:
    """WHIP: the offer's media kinds and the video codec the room takes from it: the first
    of VP8 and H.264 in the publisher's order (`preferred` for an audio-only offer)."""
    kinds, codecs = _offered(text)
    return kinds, codecs[0] if codecs else preferred


def check_play_offer(text: str) -> tuple[set[str], list[str]]:
    """WHEP: the offer's media kinds and every video codec it takes that a room may carry
    (the room's codec follows its publisher, so a viewer is answered with all of them)."""
    return _offered(text)


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
