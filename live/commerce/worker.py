"""The sale worker every server process runs: it sweeps the active sales (scheduled start
and end, expired holds) and feeds the order log into the room's durable order record.

Workers share nothing but Redis: every sweep step is an atomic script that checks before it
changes, so several workers never release a hold twice. Each worker is a consumer of the
`orders` group on every sale's log; a script takes a batch, writes the record and
acknowledges it at once. Entries some consumer took but never acknowledged (one that died)
are taken over (XAUTOCLAIM) once idle for `log_claim_idle_ms`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any

from live.commerce.auctions import AuctionStore
from live.commerce.ids import sale_room
from live.commerce.sales import LOG_GROUP, SaleStore
from live.commerce.shopkeys import ShopKeys
from live.redisdb.client import Redis
from live.redisdb.errors import RedisError
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.settings import Settings

log = logging.getLogger("live.commerce.worker")
SWEEP_BATCH = 500
READ_BATCH = 200
RECORD_INTERVAL_S = 0.05
MAX_BATCHES_PER_TICK = 50


class SaleWorker:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        scripts: Scripts,
        sales: SaleStore,
        auctions: AuctionStore,
        settings: Settings,
        name: str | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._shop_keys = ShopKeys(keys)
        self._scripts = scripts
        self._sales = sales
        self._auctions = auctions
        self._settings = settings
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._ticks = 0
        self._stopped = False

    async def run(self) -> None:
        # The log is read often so each read stays small (a big batch stalls the loop);
        # the sweep runs every `sweep_interval_ms`.
        sweep_every = self._settings.commerce.sweep_interval_ms / 1000
        loop = asyncio.get_running_loop()
        last_sweep = 0.0
        while not self._stopped:
            try:
                sweep = loop.time() - last_sweep >= sweep_every
                if sweep:
                    last_sweep = loop.time()
                await self.tick(sweep=sweep)
            except (RedisError, OSError) as exc:
                # redis-py may turn a cancellation into a connection error: stop anyway.
                task = asyncio.current_task()
                if self._stopped or (task is not None and task.cancelling()):
                    raise asyncio.CancelledError from exc
                log.warning("sale worker tick failed", extra={"error": str(exc)})
            await asyncio.sleep(min(RECORD_INTERVAL_S, sweep_every))

    def stop(self) -> None:
        self._stopped = True

    async def tick(self, *, sweep: bool = True) -> None:
        """One pass over every active sale: sweep, read the logs, record, retire."""
        if sweep:
            # Auctions first: a lot won now joins the sales swept just below.
            await self._auctions.end_due()
        sale_ids = [s.decode() for s in await self._redis.zrange(self._keys.sales_active(), 0, -1)]
        if not sale_ids:
            return
        if not sweep:
            await self.record(sale_ids)
            return
        self._ticks += 1
        states = await self._sweep(sale_ids)
        cfg = self._settings.commerce
        # Look for abandoned entries about twice per claim period.
        claim = self._ticks % max(1, cfg.log_claim_idle_ms // 2 // cfg.sweep_interval_ms) == 0
        live = [sid for sid, state in zip(sale_ids, states, strict=True) if state != -1]
        await self.record(live, claim=claim)
        gone = [sid for sid, state in zip(sale_ids, states, strict=True) if state == -1]
        finished = [sid for sid, state in zip(sale_ids, states, strict=True) if state == 1]
        await self._retire(gone, finished)

    async def _sweep(self, sale_ids: list[str]) -> list[int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in sale_ids:
                room_id = sale_room(sale_id)
                self._scripts.queue(
                    pipe,
                    "sale_sweep",
                    self._sales.sale_keys(room_id, sale_id),
                    [
                        self._settings.realtime.history_min_events,
                        self._keys.order_prefix(room_id),
                        SWEEP_BATCH,
                    ],
                )
            replies = await pipe.execute(raise_on_error=False)
        states = []
        for sale_id, reply in zip(sale_ids, replies, strict=True):
            if isinstance(reply, Exception):
                log.warning("sweep failed", extra={"sale_id": sale_id, "error": str(reply)})
                states.append(0)
            else:
                states.append(int(reply[1]))
        return states

    async def record(self, sale_ids: list[str], *, claim: bool = False) -> int:
        """Take new (and, with `claim`, abandoned) log entries into the order record, in
        Redis (`order_record.lua`): entries never travel to this process. Returns how many.
        Sales with more entries waiting are read again at once, in batches small enough
        not to hold Redis up."""
        taken, full = await self._record_batch(sale_ids, claim=claim)
        for _ in range(MAX_BATCHES_PER_TICK):
            if not full:
                break
            more, full = await self._record_batch(full, claim=False)
            taken += more
        return taken

    async def _record_batch(self, sale_ids: list[str], *, claim: bool) -> tuple[int, list[str]]:
        if not sale_ids:
            return 0, []
        k = self._keys
        cfg = self._settings.commerce
        modes = ("new", "claim") if claim else ("new",)
        async with self._redis.pipeline(transaction=False) as pipe:
            for sale_id in sale_ids:
                room_id = sale_room(sale_id)
                keys = [
                    k.sale_log(room_id, sale_id),
                    k.room_orders(room_id),
                    k.room_order_records(room_id),
                    k.room_order_stats(room_id),
                    k.room_paying_buyers(room_id),
                ]
                buyers = self._shop_keys.buyer_orders_prefix(room_id)
                for mode in modes:
                    args = [LOG_GROUP, cfg.order_retention_s * 1000, self.name, READ_BATCH]
                    self._scripts.queue(
                        pipe, "order_record", keys, [*args, mode, cfg.log_claim_idle_ms, buyers]
                    )
            replies = await pipe.execute(raise_on_error=False)
        taken = 0
        full = []
        new_buyers: list[tuple[str, str, int]] = []
        for index, reply in enumerate(replies):
            if isinstance(reply, Exception):
                log.warning("order record write failed", extra={"error": str(reply)})
                continue
            count, *buyers = reply
            taken += int(count)
            sale_id = sale_ids[index // len(modes)]
            for i in range(0, len(buyers), 2):
                new_buyers.append((sale_room(sale_id), buyers[i].decode(), int(buyers[i + 1])))
            if int(count) >= READ_BATCH and index % len(modes) == 0:
                full.append(sale_id)
        if new_buyers:
            await self._list_buyers(new_buyers)
        return taken, full

    async def _list_buyers(self, buyers: list[tuple[str, str, int]]) -> None:
        """Each buyer's list of rooms (`GET /api/me/orders`) gains the room of a new sale,
        auction or waitlist order (global keys: in a pipeline, after the record), scored
        by the order's time."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id, user_id, at in buyers:
                pipe.zadd(self._shop_keys.my_rooms(user_id), {room_id: at}, gt=True)
            await pipe.execute(raise_on_error=False)

    async def _retire(self, gone: list[str], finished: list[str]) -> None:
        """Stop tending sales that can no longer change and whose log is fully recorded."""
        done = list(gone)
        if finished:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sale_id in finished:
                    pipe.xinfo_groups(self._keys.sale_log(sale_room(sale_id), sale_id))
                replies = await pipe.execute(raise_on_error=False)
            for sale_id, groups in zip(finished, replies, strict=True):
                if isinstance(groups, Exception) or _log_drained(groups):
                    done.append(sale_id)
        if done:
            await self._redis.zrem(self._keys.sales_active(), *done)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SaleWorker]:
        """Run this worker in the background until the block ends."""
        task = asyncio.create_task(self.run(), name="sale-worker")
        try:
            yield self
        finally:
            self.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _log_drained(groups: list[dict[Any, Any]]) -> bool:
    for group in groups:
        info = {(k.decode() if isinstance(k, bytes) else k): v for k, v in group.items()}
        name = info.get("name")
        if name in (LOG_GROUP, LOG_GROUP.encode()):
            return int(info.get("pending") or 0) == 0 and int(info.get("lag") or 0) == 0
    return True
