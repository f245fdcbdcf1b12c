"""Handing memory freed by closed media sessions back to the system.

A flood of offers (each a peer connection with its DTLS context, SRTP sessions and ICE
sockets) raises the process's memory; once they are closed Python holds almost nothing
(tracemalloc: under 1 MB of 27 MB at the peak, docs/security.md), but glibc's malloc keeps
the freed pages. `malloc_trim(0)` returns them; it runs after many sessions closed, at
most once per period, so it never costs a busy server more than a few ms now and then.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger("live.media")

TRIM_AFTER_CLOSED = 20
MIN_PERIOD_S = 5.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    return trim


class FreedMemory:
    """Counts closed sessions; `maybe_trim` returns freed heap pages when enough closed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._trim = _malloc_trim()
        self._clock = clock
        self._closed = 0
        self._last = 0.0

    def note_closed(self) -> None:
        self._closed += 1

    def maybe_trim(self) -> bool:
        now = self._clock()
        if (
            self._trim is None
            or self._closed < TRIM_AFTER_CLOSED
            or now - self._last < MIN_PERIOD_S
        ):
            return False
        self._closed, self._last = 0, now
        self._trim(0)
        return True
