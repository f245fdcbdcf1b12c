"""`[limits] connections_per_ip` over every worker process, kept in Redis.

Each admitted websocket holds a lease: a member `<process_id>:<conn_id>` of the address's
sorted set (`Keys.conn_leases`), scored by its deadline on Redis's clock. `conn_admit.lua`
drops leases past their deadline, refuses at the limit, else adds the new one. The process
renews its leases on every presence heartbeat (`conn_refresh.lua`, one pipeline for all
of them) and removes one when its connection ends; leases of a process that dies without
removing them stop counting once their deadline (3 heartbeats) passes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from live.auth import new_id
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts

log = logging.getLogger("live.realtime")


class ConnectionCap:
    """Leases of one kind over every process. By default websocket connections per address
    (`Keys.conn_leases`); `key_of` counts other things (media sessions per address or per
    room, live.media.limits) the same way."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        scripts: Scripts,
        process_id: str,
        *,
        limit: int,
        heartbeat_s: float,
        key_of: Callable[[str], str] | None = None,
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        self._process_id = process_id
        self._limit = limit
        self._key_of = keys.conn_leases if key_of is None else key_of
        self.lease_ms = int(heartbeat_s * 3000)
        # This process's leases: member -> address, and how many per address.
        self._leases: dict[str, str] = {}
        self._per_ip: dict[str, int] = {}
        self._removing: set[asyncio.Task[None]] = set()

    def held_here(self, ip: str) -> int:
        """Connections from `ip` that this process holds leases for."""
        return self._per_ip.get(ip, 0)

    async def admit(self, ip: str) -> str | None:
        """A lease for one more connection from `ip`; None when the address is at the limit.
        One script call (one round trip); raises `RedisError` when Redis is away."""
        if self.held_here(ip) >= self._limit:
            # This process alone holds the address's limit: no need to ask Redis.
            return None
        member = f"{self._process_id}:{new_id('c')}"
        admitted, _count = await self._scripts.call(
            "conn_admit", [self._key_of(ip)], [member, self._limit, self.lease_ms]
        )
        if not int(admitted):
            return None
        self._leases[member] = ip
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        return member

    def release(self, lease: str) -> asyncio.Task[None] | None:
        """The connection holding `lease` is over: remove the lease (in the background; the
        task is returned for a caller that waits until the place is free everywhere)."""
        ip = self._leases.pop(lease, None)
        if ip is None:
            return None
        left = self._per_ip.pop(ip, 1) - 1
        if left > 0:
            self._per_ip[ip] = left
        task = asyncio.create_task(self._remove(ip, lease))
        self._removing.add(task)
        task.add_done_callback(self._removing.discard)
        return task

    async def _remove(self, ip: str, lease: str) -> None:
        try:
            await self._redis.zrem(self._key_of(ip), lease)
        except (RedisError, OSError) as exc:
            # Not renewed any more, the lease runs out by itself within 3 heartbeats.
            log.warning("connection lease not removed", extra={"error": str(exc)})

    async def refresh(self) -> None:
        """Renew every lease of this process: one pipeline, one script call per address."""
        by_ip: dict[str, list[str]] = {}
        for member, ip in self._leases.items():
            by_ip.setdefault(ip, []).append(member)
        if not by_ip:
            return
        scripts = self._scripts
        async with self._redis.pipeline(transaction=False) as pipe:
            for ip, members in by_ip.items():
                scripts.queue(pipe, "conn_refresh", [self._key_of(ip)], [self.lease_ms, *members])
            await pipe.execute()

    async def release_all(self) -> None:
        """Remove every lease of this process at once (shutdown)."""
        leases, self._leases = self._leases, {}
        self._per_ip.clear()
        if leases:
            async with self._redis.pipeline(transaction=False) as pipe:
                for member, ip in leases.items():
                    pipe.zrem(self._key_of(ip), member)
                await pipe.execute()
        if self._removing:
            await asyncio.gather(*self._removing, return_exceptions=True)
