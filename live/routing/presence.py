"""This process's heartbeat in the node registry, and the clean-up after dead processes.

Every `beat_s` the process writes what it serves (`describe`). A process silent for
`stale_ms` is dead: the first live process whose beat finds it releases each origin lease
it still held and reports the room (`on_origin_lost`: the room is announced
`live_ended`, and its host may publish again on any node at once). Both follow from
`[media] origin_timeout_s`: a dead origin is noticed within `stale + beat`, under the
timeout. A process that finds itself swept out as dead (it was stalled, not dead)
reasserts what it holds (`on_rejoined`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from live.routing.nodes import NodeRegistry, ProcessEntry, Registered
from live.routing.owners import MediaOwners

log = logging.getLogger("live.routing")


# Without `[node] secret` the registry is read every this many beats for other nodes:
# they could not talk to this one (docs/operations.md), which the operator must hear.
SECRET_CHECK_BEATS = 15


def nodes_without_a_shared_secret(own_node_id: str, processes: list[ProcessEntry]) -> list[str]:
    """The other nodes of the registry, which refuse this node's requests and video when
    `[node] secret` is unset (each node's derived secret is its own). Pure."""
    return sorted({p.node_id for p in processes if p.node_id != own_node_id})


def beat_interval_s(origin_timeout_s: float) -> float:
    return min(2.0, max(0.25, origin_timeout_s / 5))


def stale_after_ms(origin_timeout_s: float) -> int:
    """Silence after which a process counts as dead: leaves a beat and a margin within
    the timeout for noticing it and announcing its rooms."""
    return int(max(0.5, origin_timeout_s * 0.6) * 1000)


class NodePresence:
    def __init__(
        self,
        registry: NodeRegistry,
        owners: MediaOwners,
        origin_timeout_s: float,
        describe: Callable[[], ProcessEntry],
        on_origin_lost: Callable[[str], Awaitable[None]],
        on_rejoined: Callable[[], Awaitable[None]],
        shared_secret: bool = False,
    ) -> None:
        self._registry = registry
        self._owners = owners
        self.beat_s = beat_interval_s(origin_timeout_s)
        self.stale_ms = stale_after_ms(origin_timeout_s)
        self._describe = describe
        self._on_origin_lost = on_origin_lost
        self._on_rejoined = on_rejoined
        self._task: asyncio.Task[None] | None = None
        self._beats = 0
        # `[node] secret` is set: other nodes can talk to this one; else warn once.
        self._quiet_about_secret = shared_secret

    async def processes(self) -> Registered:
        return await self._registry.processes(self.stale_ms)

    async def drain(self, node_id: str, draining: bool) -> None:
        await self._registry.drain(node_id, draining)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await self.beat()
        self._task = asyncio.create_task(self._beat_forever())
        try:
            yield
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            with contextlib.suppress(Exception):
                await self._registry.leave(self._describe())

    async def beat(self) -> None:
        beat = await self._registry.beat(self._describe(), self.stale_ms)
        self._beats += 1
        if beat.refused:
            log.warning("the node registry is full: this process is not listed")
            return
        if not beat.known and self._beats > 1:
            log.warning("this process was counted out as dead: reasserting its rooms")
            await self._on_rejoined()
        for dead in beat.dead:
            await self._clean_up_after(dead)
        if not self._quiet_about_secret and self._beats % SECRET_CHECK_BEATS == 1:
            await self._warn_of_nodes_without_a_shared_secret()

    async def _warn_of_nodes_without_a_shared_secret(self) -> None:
        others = nodes_without_a_shared_secret(
            self._describe().node_id, (await self.processes()).processes
        )
        if others:
            self._quiet_about_secret = True
            log.warning(
                "other nodes share this Redis but [node] secret (LIVE_NODE_SECRET) is unset:"
                " they refuse this node's requests and video; set the same secret on every"
                " node",
                extra={"nodes": others},
            )

    async def _clean_up_after(self, dead: ProcessEntry) -> None:
        log.warning("a process stopped answering", extra={"node": dead.node_id, "pid": dead.pid})
        for room_id in dead.origins:
            released = bool(dead.address) and await self._owners.release(room_id, dead.address)
            if released or await self._owners.owner(room_id) is None:
                await self._on_origin_lost(room_id)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.beat_s)
            try:
                await self.beat()
            except Exception:
                log.exception("node heartbeat failed")
