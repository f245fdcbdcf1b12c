"""The wiring one process shares between its handlers: settings, Redis, stores, signer."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from live.auth import Identity, TokenSigner
from live.commerce.catalog import Catalog
from live.commerce.payments import InstantPayments, PaymentProvider
from live.commerce.sales import SaleStore
from live.redisdb.client import Redis
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.rooms.store import RoomStore
from live.settings import Settings
from live.shop_jwt import ShopTokenVerifier


async def _no_viewers(room_ids: list[str]) -> list[int]:
    return [0] * len(room_ids)


async def _no_sales(room_id: str) -> list[dict[str, Any]]:
    return []


@dataclass
class Services:
    settings: Settings
    redis: Redis
    keys: Keys
    signer: TokenSigner
    shop_tokens: ShopTokenVerifier | None
    scripts: Scripts
    rooms: RoomStore
    catalog: Catalog
    sales: SaleStore
    # The payment provider `pay` calls (docs/protocol.md, "Payments").
    payments: PaymentProvider
    # Hooks the channel layer fills at start-up: viewer counts and reactions to a room's end.
    viewer_counts: Callable[[list[str]], Awaitable[list[int]]] = field(default=_no_viewers)
    room_ended_listeners: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)
    # Filled by the commerce layer: the room's sales for a snapshot (newest first).
    room_sales: Callable[[str], Awaitable[list[dict[str, Any]]]] = field(default=_no_sales)
    # Extension point for the commerce and media layers (set at start-up).
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls, settings: Settings, redis: Redis, signing: list[bytes] | None = None
    ) -> Services:
        """`signing`: the signing secrets (live.security.signing); without them, the
        configured secret or one random to this process."""
        keys = Keys(settings.redis.key_prefix)
        scripts = Scripts(redis, history_min_age_s=settings.realtime.history_min_age_s)
        if not signing:
            signing = [settings.auth.secret.encode() or secrets.token_bytes(32)]
        signer = TokenSigner(signing[0], settings.admin_token, signing[1:])
        return cls(
            settings=settings,
            redis=redis,
            keys=keys,
            signer=signer,
            shop_tokens=ShopTokenVerifier.from_settings(settings.auth),
            scripts=scripts,
            rooms=RoomStore(redis, keys, settings),
            catalog=Catalog(redis, keys),
            sales=SaleStore(redis, keys, scripts, settings),
            payments=InstantPayments(),
        )

    def verify_token(self, token: str) -> Identity:
        """Our own signed tokens, the admin token, or (when configured) a shop JWT."""
        if self.shop_tokens is not None and ShopTokenVerifier.looks_like_jwt(token):
            return self.shop_tokens.verify(token, now=self.now())
        return self.signer.verify(token, now=self.now())

    @staticmethod
    def now() -> float:
        return time.time()

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)
