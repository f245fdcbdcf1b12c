"""The media clock: positions across publishers, Redis clock readings, viewer mapping."""

from __future__ import annotations

from live.media.mediaclock import RATES, RoomClock, TrackPositions, media_ms, rtp_delta


def test_a_publisher_follows_its_own_rtp_timestamps_from_where_it_arrived() -> None:
    track = TrackPositions(RATES["video"])
    source = object()
    # Its first frame arrives 1 s into the show; later ones follow its RTP clock exactly,
    # however unevenly they arrive.
    assert track.place(source, 1000, now_ms=1000.0) == 90000
    assert track.place(source, 4000, now_ms=1090.0) == 93000
    assert track.place(source, 7000, now_ms=1040.0) == 96000


def test_rtp_timestamps_wrap() -> None:
    track = TrackPositions(RATES["video"])
    source = object()
    track.place(source, (1 << 32) - 1500, now_ms=0.0)
    assert track.place(source, 1500, now_ms=0.0) == 3000
    assert rtp_delta(10, (1 << 32) - 10) == 20 and rtp_delta(0, 100) == -100


def test_a_new_publisher_starts_where_it_arrives_after_a_pause() -> None:
    track = TrackPositions(RATES["audio"])
    first, second = object(), object()
    track.place(first, 0, now_ms=0.0)
    track.place(first, 48000, now_ms=1000.0)
    # The host comes back 5 s later, with a clock of its own: a 4 s gap, not squeezed out.
    assert track.place(second, 777, now_ms=6000.0) == 6 * 48000
    # A takeover whose first frame arrives "before" the last one (clock error) still
    # never goes back.
    third = object()
    assert track.place(third, 5, now_ms=5000.0) == 6 * 48000 + 1


def test_the_room_clock_starts_at_its_first_frame_on_redis_time() -> None:
    clock = RoomClock.measured(
        redis_ms=1_000_500, sent_mono_ms=100.0, answered_mono_ms=102.0, t0=None
    )
    assert clock.redis_offset_ms == 1_000_500 - 101
    assert clock.place("video", object(), 12345, mono_ms=200.0) == 0
    assert clock.t0 == 1_000_500 - 101 + 200 and not clock.t0_saved
    assert clock.now_ms(1200.0) == 1000.0
    assert clock.last_video_ms == 0 and clock.last_video_at == 200.0


def test_a_reading_with_a_shorter_round_trip_wins() -> None:
    clock = RoomClock.measured(5000, 0.0, 100.0, t0=4000)
    clock.observe(5200, 150.0, 350.0)  # slower: kept out
    assert clock.redis_offset_ms == 4950
    clock.observe(5110, 150.0, 152.0)
    assert clock.redis_offset_ms == 5110 - 151


def test_rebase_moves_later_positions_with_the_start() -> None:
    clock = RoomClock(0.0, None)
    source = object()
    clock.place("video", source, 0, mono_ms=1000.0)  # starts the clock at 1000
    clock.rebase(900)  # another origin had started it 100 ms earlier
    assert clock.t0_saved and clock.t0 == 900
    assert clock.place("video", source, 900, mono_ms=1010.0) == 100 * 90 + 900


def test_a_viewer_maps_its_rtp_timestamps_back_to_media_ms() -> None:
    offset = (1 << 32) - 900  # the sender's random start, close to wrapping
    position = 90 * 1234
    rtp = (position + offset) % (1 << 32)
    assert media_ms(rtp, offset) == 1234.0
