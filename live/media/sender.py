"""One viewer's outgoing audio or video: the room's RTP payloads under this viewer's header.

The room packetizes each frame once; per viewer and packet only the 12-byte RTP header
(this viewer's SSRC, sequence number, timestamp, payload type, marker) and the negotiated
header extensions are written, then SRTP and `sendto`, synchronously. Sent packets stay in
a history so NACKs are answered (over RTX when negotiated), and the sender's RTCP task
gets the counts for its sender reports.
"""

from __future__ import annotations

import logging
import random
import struct
import time
from collections.abc import Callable

from live.media.aiortc_private import RtpLink, SenderParams
from live.media.tracks import ParkedTrack

log = logging.getLogger("live.media")

HEADER = struct.Struct("!BBHII")
SEQ = struct.Struct("!H")
# Packets kept per sender for retransmission (aiortc's RTP_HISTORY_SIZE).
HISTORY = 128
# Seconds between 1900 (NTP) and 1970 (Unix).
NTP_OFFSET = 2208988800


def ntp_now() -> int:
    """Now as a 64-bit NTP timestamp."""
    return int((time.time() + NTP_OFFSET) * (1 << 32))


def abs_send_time(ntp: int) -> bytes:
    """The abs-send-time extension's 3 bytes (6.18 fixed-point seconds)."""
    return ((ntp >> 14) & 0xFFFFFF).to_bytes(3, "big")


def extension_parts(params: SenderParams) -> tuple[bytes, bytes]:
    """The header extension block around the abs-send-time value: (before, after).

    RFC 8285 (one-byte form, or two-byte where an id or length needs it) with this
    sender's mid and abs-send-time, padded to 32 bits; (b"", b"") when neither was
    negotiated. The 3 abs-send-time bytes go between the parts.
    """
    items: list[tuple[int, bytes]] = []
    if params.mid_id and params.mid:
        items.append((params.mid_id, params.mid.encode()))
    if params.abs_send_time_id:
        items.append((params.abs_send_time_id, b"\0\0\0"))
    if not items:
        return b"", b""
    if all(i <= 14 and 0 < len(v) <= 16 for i, v in items):
        profile, head = 0xBEDE, 1
        body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in items)
    else:
        profile, head = 0x1000, 2
        body = b"".join(bytes([i, len(v)]) + v for i, v in items)
    body += b"\0" * (-len(body) % 4)
    block = struct.pack("!HH", profile, len(body) // 4) + body
    if not params.abs_send_time_id:
        return block, b""
    # abs-send-time is the last item: its 3 bytes follow its id/length byte(s).
    at = 4 + sum(head + len(v) for _, v in items[:-1]) + head
    return block[:at], block[at + 3 :]


class ViewerSender:
    """Writes the room's packets for one viewer and kind; keyframe gating for video."""

    def __init__(self, kind: str, on_start: Callable[[], None]) -> None:
        self.kind = kind
        # What aiortc's sender holds; its RTP loop waits on it until the session ends.
        self.track = ParkedTrack(kind)
        self._on_start: Callable[[], None] | None = on_start
        self.waiting_since: float | None = time.monotonic() if kind == "video" else None
        self._link: RtpLink | None = None
        self._history: list[bytes | None] = [None] * HISTORY
        # Random, as aiortc's sender, and chosen now: the WHEP answer hands it to the
        # viewer, whose frames' RTP timestamps minus it are their media clock positions.
        self.ts_origin = random.getrandbits(32)
        self._pts: dict[str, tuple[int, int | None]] = {}

    def takes(self, codec: str) -> bool:
        """True when this viewer negotiated `codec` (a room's codec follows its publisher)."""
        return codec in self._pts

    @property
    def codecs(self) -> list[str]:
        return list(self._pts)

    @property
    def ready(self) -> bool:
        """Started and not stopped: packets may flow."""
        return self._link is not None

    def wait_for_keyframe(self) -> None:
        if self.kind == "video" and self.waiting_since is None:
            self.waiting_since = time.monotonic()

    def start(self, params: SenderParams, link: RtpLink) -> None:
        """The sender is negotiated and connected: packets may flow."""
        self._link = link
        self._ssrc = params.ssrc
        self._rtx_ssrc = params.rtx_ssrc
        self._pts = params.payload_types
        # Retransmissions go out with the RTX payload type that pairs with the original's.
        self._rtx_of = {pt: rtx for pt, rtx in self._pts.values()}
        self._ext_before, self._ext_after = extension_parts(params)
        self._abs = bool(params.abs_send_time_id)
        self._first_byte = 0x90 if self._ext_before else 0x80
        # Random starts, as aiortc's sender; the sequence in the lower half (SRTP rollover).
        self._seq = random.getrandbits(15)
        self._rtx_seq = random.getrandbits(15)
        self._packets = 0
        self._octets = 0
        link.on_nack(self.retransmit)
        if self.waiting_since is not None:
            self.waiting_since = time.monotonic()
        if self._on_start is not None:
            start, self._on_start = self._on_start, None
            start()

    def stop(self) -> None:
        if self._link is not None:
            self._link.close()
        self._link = None
        self.track.stop()

    def send_frame(
        self, payloads: list[bytes], timestamp: int, ntp: int, ast: bytes, codec: str
    ) -> bool:
        """Send one frame's payloads in `codec`; False when this viewer could not take it."""
        link = self._link
        if link is None:
            return False
        negotiated = self._pts.get(codec)
        if negotiated is None:
            return False
        try:
            protect, send = link.output()
        except ConnectionError:
            return False
        ts = (timestamp + self.ts_origin) & 0xFFFFFFFF
        ext = self._ext_before + ast + self._ext_after if self._abs else self._ext_before
        pack = HEADER.pack
        first, pt, ssrc, seq = self._first_byte, negotiated[0], self._ssrc, self._seq
        history = self._history
        last = len(payloads) - 1
        octets = 0
        protected = []
        try:
            for i, payload in enumerate(payloads):
                data = pack(first, pt | 0x80 if i == last else pt, seq, ts, ssrc) + ext + payload
                history[seq % HISTORY] = data
                protected.append(protect(data))
                seq = (seq + 1) & 0xFFFF
                octets += len(payload)
            send(protected)
        except AttributeError:
            raise  # a library moved a private attribute: never hidden (live.private_attrs)
        except Exception:
            # A socket closing under us, or SRTP refusing: the session is ending.
            log.debug("send failed", exc_info=True)
            self._seq = seq
            return False
        self._seq = seq
        self._packets += len(payloads)
        self._octets += octets
        link.report(ntp, ts, self._packets & 0xFFFFFFFF, self._octets & 0xFFFFFFFF)
        return True

    def retransmit(self, seq: int) -> None:
        """Answer a NACK for `seq` from the history (RTX-wrapped when negotiated)."""
        data = self._history[seq % HISTORY]
        link = self._link
        if data is None or link is None or SEQ.unpack_from(data, 2)[0] != seq:
            return
        rtx_pt = self._rtx_of.get(data[1] & 0x7F)
        if rtx_pt is not None:
            size = 12
            if data[0] & 0x10:
                size += 4 + 4 * SEQ.unpack_from(data, 14)[0]
            marker = data[1] & 0x80
            head = HEADER.pack(
                data[0], marker | rtx_pt, self._rtx_seq, _u32(data, 4), self._rtx_ssrc
            )
            data = head + data[12:size] + data[2:4] + data[size:]
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        try:
            protect, send = link.output()
        except ConnectionError:
            return
        try:
            send([protect(data)])
        except AttributeError:
            raise  # as in send_frame
        except Exception:
            log.debug("retransmission failed", exc_info=True)


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")
