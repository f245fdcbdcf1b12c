"""The buy use case: from a request's parts to a held order (one Redis round trip).

Both HTTP paths to it, the fast path (live/api/fastbuy.py) and Starlette's routed handler
(live/api/sales.py), call `Buying.place_order`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from live import metrics
from live.auth import require_buyer
from live.authenticator import Authenticator
from live.commerce.rules import address_limit_key, parse_idempotency_key, parse_qty
from live.commerce.sales import SaleStore
from live.errors import LiveError
from live.http_input import bearer_of, in_networks
from live.settings import Settings
from live.validation import expect_object


class Buying:
    def __init__(self, sales: SaleStore, authenticator: Authenticator, settings: Settings) -> None:
        self._sales = sales
        self._auth = authenticator
        self._anonymous_can_buy = settings.auth.anonymous_can_buy
        self._exempt_networks = settings.limits.exempt_networks
        self._limit_by_ip = settings.commerce.anonymous_limit_by_ip

    async def place_order(
        self,
        sale_id: str,
        authorization: str | None,
        idempotency_key: str | None,
        read_body: Callable[[], Awaitable[Any]],
        ip: str,
    ) -> tuple[dict[str, Any], int]:
        """The order and its status (201, or 200 for a replay of the same key)."""
        token = bearer_of(authorization)
        identity = require_buyer(
            self._auth.verify(token) if token is not None else None,
            anonymous_can_buy=self._anonymous_can_buy,
        )
        key = parse_idempotency_key(idempotency_key)
        qty = parse_qty(expect_object(await read_body()))
        exempt = in_networks(ip, self._exempt_networks)
        # Anonymous sessions cost nothing to make: their limit is also counted per address.
        by_address = self._limit_by_ip and not identity.verified and not exempt
        address = address_limit_key(ip) if by_address else ""
        try:
            outcome = await self._sales.buy(
                sale_id, identity.user_id, key, qty, None if exempt else ip, address
            )
        except LiveError as exc:
            metrics.orders(exc.code).inc()
            raise
        metrics.orders("created" if outcome.created else "replayed").inc()
        return outcome.order, 201 if outcome.created else 200
