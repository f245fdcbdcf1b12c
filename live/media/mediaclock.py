"""PURE: the room's media clock, on which frames, recordings and room events line up.

A room's media clock starts at its first forwarded frame (`t0`, in Redis's time, kept in
the replay's record so a publisher that comes back, in this process or another, continues
the same clock). A frame's *position* is where it falls on that clock, in its kind's RTP
units (90 kHz video, 48 kHz audio): each publisher's stream of one kind is anchored where
its first frame arrived, and follows its own RTP timestamps from there (smooth, and audio
and video keep the spacing they were sent with). So a pause or a takeover leaves a gap on
the clock as long as it lasted, never stretched or squeezed video.

The same positions are the outgoing RTP timestamps (modulo 2**32), so a viewer can map the
frame it shows back to `media_ms` with one per-viewer offset (`live.media.sender`), and the
recorder writes them as the file's timestamps (`live.media.recorder`).
"""

from __future__ import annotations

import math

RATES = {"video": 90000, "audio": 48000}
TS_MOD = 1 << 32
HALF = 1 << 31


def rtp_delta(newer: int, older: int) -> int:
    """newer - older in 32-bit RTP timestamp space, in [-2**31, 2**31)."""
    return (newer - older + HALF) % TS_MOD - HALF


class TrackPositions:
    """Positions of one kind's frames, in its RTP clock units, across publishers."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._source: object | None = None
        self._anchor = 0
        self._last_rtp = 0
        self._unwrapped = 0
        # The furthest position given so far: a new publisher never starts before it.
        self.furthest: int | None = None

    def place(self, source: object, rtp_timestamp: int, now_ms: float) -> int:
        """The position of a frame of `source` with `rtp_timestamp`, arriving at `now_ms`
        on the media clock."""
        if source is not self._source:
            self._source = source
            anchor = round(now_ms * self.rate / 1000)
            if self.furthest is not None:
                anchor = max(anchor, self.furthest + 1)
            self._anchor = anchor
            self._unwrapped = 0
        else:
            self._unwrapped += rtp_delta(rtp_timestamp, self._last_rtp)
        self._last_rtp = rtp_timestamp
        position = self._anchor + self._unwrapped
        if self.furthest is None or position > self.furthest:
            self.furthest = position
        return position

    def shift(self, ticks: int) -> None:
        """Move every later position by `ticks` (the clock's start moved)."""
        self._anchor += ticks
        if self.furthest is not None:
            self.furthest += ticks


class RoomClock:
    """One room's media clock at its origin: local monotonic ms against Redis ms.

    `redis_offset_ms` is Redis's clock minus this process's monotonic clock (measured when
    the publisher's WHIP was answered); `t0` the clock's start in Redis ms, None until the
    room's first frame (then set here and saved to Redis by the hub, `t0_saved`).
    """

    def __init__(self, redis_offset_ms: float, t0: int | None, rtt_ms: float = 0.0) -> None:
        self.redis_offset_ms = redis_offset_ms
        # The round trip of the measurement the offset came from: the shorter, the truer.
        self.offset_rtt_ms = rtt_ms
        self.t0 = t0
        self.t0_saved = t0 is not None
        self.tracks = {kind: TrackPositions(rate) for kind, rate in RATES.items()}
        # The last video frame forwarded: its position (ms) and monotonic arrival (ms).
        self.last_video_ms: float | None = None
        self.last_video_at: float = 0.0

    @classmethod
    def measured(
        cls, redis_ms: int, sent_mono_ms: float, answered_mono_ms: float, t0: int | None
    ) -> RoomClock:
        """A clock from one Redis call: Redis's time taken at the round trip's midpoint."""
        clock = cls(0.0, t0, float("inf"))
        clock.observe(redis_ms, sent_mono_ms, answered_mono_ms)
        return clock

    def observe(self, redis_ms: int, sent_mono_ms: float, answered_mono_ms: float) -> None:
        """Another reading of Redis's clock: kept when its round trip was shorter (a busy
        event loop or network makes a reading less certain by half its round trip)."""
        rtt = answered_mono_ms - sent_mono_ms
        if rtt < self.offset_rtt_ms:
            self.offset_rtt_ms = rtt
            self.redis_offset_ms = redis_ms - (sent_mono_ms + answered_mono_ms) / 2

    def now_ms(self, mono_ms: float) -> float:
        """Now on the media clock; the clock starts here if it had not started yet."""
        if self.t0 is None:
            # Rounded down: the first frame is at 0 or just after, never before.
            self.t0 = math.floor(mono_ms + self.redis_offset_ms)
        return mono_ms + self.redis_offset_ms - self.t0

    def place(self, kind: str, source: object, rtp_timestamp: int, mono_ms: float) -> int:
        """A frame's position in `kind`'s RTP units (see the module docstring)."""
        track = self.tracks[kind]
        position = track.place(source, rtp_timestamp, self.now_ms(mono_ms))
        if kind == "video":
            self.last_video_ms = position * 1000 / track.rate
            self.last_video_at = mono_ms
        return position

    def rebase(self, t0: int) -> None:
        """Redis already held another start (a race between two origins): use it."""
        if self.t0 is not None and t0 != self.t0:
            for track in self.tracks.values():
                track.shift(round((self.t0 - t0) * track.rate / 1000))
        self.t0 = t0
        self.t0_saved = True


def media_ms(rtp_timestamp: int, offset: int, rate: int = RATES["video"]) -> float:
    """A viewer's frame timestamp back on the media clock, given its sender's offset (ms;
    the first 13 hours of a show, where 32-bit 90 kHz timestamps wrap)."""
    return ((rtp_timestamp - offset) % TS_MOD) * 1000 / rate
