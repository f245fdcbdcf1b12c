"""Real offers from browsers and OBS (tests/media/offers/, sources in SOURCES.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

OFFERS_DIR = Path(__file__).parent / "offers"


@dataclass(frozen=True)
class RealOffer:
    name: str
    # The video codecs a room may carry that the offer has (a room's codec follows its
    # publisher, whatever [media] codec prefers).
    codecs: frozenset[str]
    # Of those, the one it lists first: what a WHIP of it makes the room's codec.
    first: str
    # The endpoints it fits: "whip" when it sends media, "whep" when it receives.
    endpoints: frozenset[str]

    @property
    def text(self) -> str:
        # Bytes as captured or published: CRLF, or LF where the source had LF.
        return (OFFERS_DIR / f"{self.name}.sdp").read_bytes().decode()


BOTH = frozenset({"vp8", "h264"})
OFFERS = [
    RealOffer("chromium-156-whip", BOTH, "vp8", frozenset({"whip"})),
    RealOffer("chromium-156-whep", BOTH, "vp8", frozenset({"whep"})),
    RealOffer("firefox-audio-video", BOTH, "vp8", frozenset({"whip", "whep"})),
    RealOffer("safari-audio-video", BOTH, "h264", frozenset({"whip", "whep"})),
    RealOffer("obs-30.0.2-whip", frozenset({"h264"}), "h264", frozenset({"whip"})),
]

# Valid stand-ins for what a published fixture redacted ("-"), so the server can answer.
_REDACTED = {
    "a=ice-ufrag:-": "a=ice-ufrag:Rdct",
    "a=ice-pwd:-": "a=ice-pwd:redactedredactedredacted1",
    "a=fingerprint:sha-256 -": "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
}


def for_this_machine(text: str) -> str:
    """The offer as a test may post it: no candidates (they name other people's networks,
    which the server would send checks to), and redacted credentials filled in."""
    newline = "\r\n" if "\r\n" in text else "\n"  # kept as the client wrote it
    kept = [
        _REDACTED.get(line, line)
        for line in text.split(newline)
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    ]
    return newline.join(kept)
