"""Wall-clock time for handlers and stores, as one collaborator they are given."""

from __future__ import annotations

import time


class Clock:
    """The server's wall clock (epoch seconds and milliseconds)."""

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return int(time.time() * 1000)
