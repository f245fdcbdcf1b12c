"""PURE (aiortc's SDP parser only): an offer checked against the room's codecs; NAT rewriting."""

from __future__ import annotations

from aiortc.sdp import SessionDescription

from live.errors import BadRequest, UnsupportedCodec

# settings.media.codec -> the rtpmap encoding name.
VIDEO_CODECS = {"vp8": "VP8", "h264": "H264"}
AUDIO_CODEC = "opus"
MAX_SDP_BYTES = 64 * 1024


def check_offer(text: str, codec: str) -> set[str]:
    """The media kinds of a valid offer, or 400 `bad_request` / `unsupported_codec`."""
    if not text.startswith("v=0"):
        raise BadRequest("the body must be an SDP offer (application/sdp)")
    try:
        description = SessionDescription.parse(text)
    except Exception as exc:  # the parser raises anything from AssertionError to ValueError
        raise BadRequest(f"the SDP offer could not be parsed: {exc!r}") from exc
    kinds: set[str] = set()
    for media in description.media:
        if media.kind not in ("audio", "video"):
            continue
        names = {c.mimeType.split("/", 1)[-1].lower() for c in media.rtp.codecs}
        wanted = VIDEO_CODECS[codec].lower() if media.kind == "video" else AUDIO_CODEC
        if wanted not in names:
            shown = VIDEO_CODECS[codec] if media.kind == "video" else "Opus"
            raise UnsupportedCodec(f"this room sends {media.kind} as {shown}; the offer lacks it")
        kinds.add(media.kind)
    if not kinds:
        raise BadRequest("the SDP offer has no audio or video")
    # WebRTC media is DTLS-SRTP: without a fingerprint no handshake can ever succeed, and
    # aiortc would only fail later, after answering 201.
    if "a=fingerprint:" not in text:
        raise BadRequest("the SDP offer has no DTLS fingerprint (a=fingerprint)")
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
