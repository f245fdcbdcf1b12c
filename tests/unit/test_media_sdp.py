"""Offer checks, NAT rewriting and ICE server announcements: no I/O."""

from __future__ import annotations

import pytest

from live.errors import BadRequest, UnsupportedCodec
from live.media.sdp import check_offer, rewrite_host_candidates
from live.media.signalling import ice_servers, link_headers
from live.settings import MediaSettings
from tests.media.real_offers import OFFERS, OFFERS_DIR, RealOffer

OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 1 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102",
        "c=IN IP4 0.0.0.0",
        "a=mid:0",
        "a=sendonly",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:102 H264/90000",
        "a=fmtp:102 packetization-mode=1;profile-level-id=42e01f",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=sendonly",
        "a=rtpmap:111 opus/48000/2",
        "",
    ]
)


def test_a_browser_like_offer_is_accepted_for_both_codecs() -> None:
    assert check_offer(OFFER, "vp8") == {"audio", "video"}
    assert check_offer(OFFER, "h264") == {"audio", "video"}


def test_offers_without_the_rooms_codec_are_refused() -> None:
    with pytest.raises(UnsupportedCodec):
        check_offer(OFFER.replace("VP8/", "VP9/"), "vp8")
    with pytest.raises(UnsupportedCodec):
        check_offer(OFFER.replace("opus/", "PCMU/"), "vp8")


@pytest.mark.parametrize("text", ["", "hello", "v=0\r\n", "v=0\r\nm=video x\r\n", "{}"])
def test_garbage_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_offer(text, "vp8")
    assert caught.value.code == "bad_request"


def test_host_candidates_announce_the_public_address() -> None:
    sdp = "a=candidate:1 1 udp 2130706431 10.0.0.5 40000 typ host\r\na=mid:0"
    rewritten = rewrite_host_candidates(sdp, "203.0.113.7")
    assert rewritten == "a=candidate:1 1 udp 2130706431 203.0.113.7 40000 typ host\r\na=mid:0"
    assert rewrite_host_candidates(sdp, "") == sdp


def test_ice_servers_as_link_headers() -> None:
    media = MediaSettings(
        ice_servers=("stun:stun.example.org", "turns:turn.example.org:443?transport=tcp"),
        turn_username="u",
        turn_credential='p"w',
    )
    assert ice_servers(media)[0] == {"urls": ["stun:stun.example.org"]}
    assert link_headers(media) == [
        '<stun:stun.example.org>; rel="ice-server"',
        '<turns:turn.example.org:443?transport=tcp>; rel="ice-server"; username="u"; '
        'credential="p\\"w"; credential-type="password"',
    ]


@pytest.mark.parametrize("offer", OFFERS, ids=lambda o: o.name)
@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_real_offers_parse_and_meet_the_rooms_codec(offer: RealOffer, codec: str) -> None:
    # Captured Chromium and published Firefox, Safari and OBS 30 offers (see SOURCES.md).
    if codec in offer.codecs:
        assert check_offer(offer.text, codec) == {"audio", "video"}
    else:
        with pytest.raises(UnsupportedCodec):
            check_offer(offer.text, codec)


def test_every_offer_file_is_tested_and_has_its_source() -> None:
    files = {p.stem for p in OFFERS_DIR.glob("*.sdp")}
    assert files == {o.name for o in OFFERS}
    sources = (OFFERS_DIR / "SOURCES.md").read_text()
    assert all(f"`{name}.sdp`" in sources for name in files)
