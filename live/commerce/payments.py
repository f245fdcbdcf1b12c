"""Payment providers: the small interface the sale logic calls, and the instant default.

A real provider plugs in by implementing `PaymentProvider` (see docs/protocol.md,
"Payments"): `charge` creates the payment; a provider that confirms later answers
`pending`, and its signed webhook calls `SaleStore.pay` when the money is in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class PaymentResult:
    """What the provider said: approved (pay now), pending (webhook follows) or declined."""

    status: Literal["approved", "pending", "declined"]
    payment_id: str
    message: str = ""


class PaymentProvider(Protocol):
    async def charge(self, order: dict[str, Any]) -> PaymentResult:
        """Create a payment of `order["amount_cents"]` in `order["currency"]`."""
        ...

    async def refund(self, payment_id: str, order: dict[str, Any]) -> None:
        """Give the money back (the hold expired while the payment was made)."""
        ...


class InstantPayments:
    """For development and demos: every payment is approved at once."""

    async def charge(self, order: dict[str, Any]) -> PaymentResult:
        return PaymentResult("approved", "pay_" + secrets.token_hex(8))

    async def refund(self, payment_id: str, order: dict[str, Any]) -> None:
        return None
