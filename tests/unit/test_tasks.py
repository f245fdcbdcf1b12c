"""Stopping background loops (live.tasks): a loop whose cancel was swallowed still ends,
so a server's shutdown never hangs on it."""

from __future__ import annotations

import asyncio

import pytest

from live.tasks import stop_task


async def test_a_loop_that_swallowed_a_cancel_is_stopped() -> None:
    swallowed = asyncio.Event()

    async def heartbeat() -> None:
        # As a Redis call does on Python 3.11 when the cancel lands as its send completes
        # (asyncio.wait_for returns the result and drops the cancel).
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            swallowed.set()
        for _ in range(1000):  # the loop goes on to its next beat
            await asyncio.sleep(0.01)

    task = asyncio.create_task(heartbeat())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task), timeout=5)
    assert swallowed.is_set() and task.cancelled()


async def test_a_loop_that_failed_reports_its_error() -> None:
    async def broken() -> None:
        raise RuntimeError("lost its state")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="lost its state"):
        await stop_task(task)
    await stop_task(None)  # never started: nothing to do
