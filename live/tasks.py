"""Stopping a background task for sure.

On Python 3.11 `asyncio.wait_for` returns the result of an awaitable that completed as the
cancel arrived, and swallows the cancel: redis-py sends each command through it, so a loop
cancelled during a Redis call may carry on to its next sleep and never end. Shutdown cancels
until the task is done.
"""

from __future__ import annotations

import asyncio
from typing import Any

# How long one cancel is given before the next (a loop's next await comes within a step).
RECANCEL_S = 0.05


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (again, while a cancel was swallowed) and wait until it has ended."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=RECANCEL_S)
    failure = None if task.cancelled() else task.exception()
    if failure is not None:
        raise failure
