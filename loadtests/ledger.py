"""PURE: what the load generators saw, kept per process and merged on the master."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CHANNEL_COUNTERS = ("gaps", "missed", "repeats", "resumes", "unrecovered", "epoch_changes")


@dataclass(frozen=True)
class KeyRecord:
    """One Idempotency-Key: whose it is, for which sale, and the orders answered to it."""

    user_id: str
    sale_id: str
    order_ids: frozenset[str]


@dataclass
class RunLedger:
    """Idempotency keys sent, orders answered, sales opened and channel continuity.

    A worker drains its ledger into each stats report; the master merges them.
    """

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    sales: set[str] = field(default_factory=set)
    channel: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANNEL_COUNTERS, 0))

    def note_key(self, key: str, user_id: str, sale_id: str) -> None:
        """Record a key before its request leaves, so a lost answer still counts it."""
        self.keys.setdefault(key, {"user": user_id, "sale": sale_id, "orders": []})

    def note_order(self, key: str, user_id: str, sale_id: str, order_id: str) -> None:
        """Record an order answered to a key (which a drain may have sent on already)."""
        self.note_key(key, user_id, sale_id)
        orders = self.keys[key]["orders"]
        if order_id not in orders:
            orders.append(order_id)

    def note_sale(self, sale_id: str) -> None:
        self.sales.add(sale_id)

    def count(self, counter: str, n: int = 1) -> None:
        self.channel[counter] = self.channel.get(counter, 0) + n

    def drain(self) -> dict[str, Any]:
        """Everything noted since the last drain, as plain data; then start afresh."""
        data = {"keys": self.keys, "sales": sorted(self.sales), "channel": self.channel}
        self.keys, self.sales = {}, set()
        self.channel = dict.fromkeys(CHANNEL_COUNTERS, 0)
        return data

    def merge(self, data: dict[str, Any]) -> None:
        """Add a drained ledger (from a worker) to this one."""
        for key, record in data.get("keys", {}).items():
            self.note_key(key, record["user"], record["sale"])
            for order_id in record["orders"]:
                self.note_order(key, record["user"], record["sale"], order_id)
        self.sales.update(data.get("sales", []))
        for counter, n in data.get("channel", {}).items():
            self.count(counter, n)

    def key_records(self) -> dict[str, KeyRecord]:
        return {
            key: KeyRecord(r["user"], r["sale"], frozenset(r["orders"]))
            for key, r in self.keys.items()
        }
