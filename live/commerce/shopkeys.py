"""The shop's Redis keys (docs/redis-keys.md, "The shop").

A product's inventory is under the product's own tag `{p:<sku>}`; a bag order, its
journal and its holds are under the room's tag `{r:<room_id>}`, like sale orders.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.redisdb.keys import Keys


@dataclass(frozen=True)
class ShopKeys:
    keys: Keys

    # --- per product ---------------------------------------------------------------
    def product_tag(self, sku: str) -> str:
        return f"{self.keys.prefix}:{{p:{sku}}}"

    def inventory(self, sku: str) -> list[str]:
        """KEYS[1..3] of inv.lua: counts, reservations, made-to-order queue."""
        tag = self.product_tag(sku)
        return [f"{tag}:inv", f"{tag}:res", f"{tag}:queue"]

    def product_rooms(self, sku: str) -> str:
        """Sorted set of the rooms whose line-up has the product, by when it was added."""
        return f"{self.product_tag(sku)}:rooms"

    # --- per room --------------------------------------------------------------------
    def bag_idempotency(self, room_id: str) -> str:
        """Hash `<user_id> <Idempotency-Key>` -> `<order_id>|<fingerprint>`."""
        return f"{self.keys.room_tag(room_id)}:bag:idem"

    def bag_journal(self, room_id: str) -> str:
        """Hash `<order_id>:<op>` -> the product steps still owed (JSON)."""
        return f"{self.keys.room_tag(room_id)}:bag:journal"

    def bag_journal_due(self, room_id: str) -> str:
        """Sorted set of journal fields scored by when the sweeper must do them (ms)."""
        return f"{self.keys.room_tag(room_id)}:bag:due"

    def bag_holds(self, room_id: str) -> str:
        """Sorted set of held bag order ids scored by their deadline (Redis ms)."""
        return f"{self.keys.room_tag(room_id)}:bag:holds"

    def lineup_stock(self, room_id: str) -> str:
        """Hash sku -> the latest availability JSON published to the room; `_at`, `_dirty`."""
        return f"{self.keys.room_tag(room_id)}:bag:stock"

    def buyer_orders(self, room_id: str, user_id: str) -> str:
        """Sorted set of one buyer's orders in the room (bag, sale, auction and waitlist
        orders alike), by creation ms."""
        return self.buyer_orders_prefix(room_id) + user_id

    def buyer_orders_prefix(self, room_id: str) -> str:
        return f"{self.keys.room_tag(room_id)}:buyer:"

    # --- global ----------------------------------------------------------------------
    def shop_rooms(self) -> str:
        """Sorted set of rooms with bag holds or journal entries to tend, by last use."""
        return f"{self.keys.prefix}:shop:rooms"

    def my_rooms(self, user_id: str) -> str:
        """Sorted set of rooms a buyer ordered in (for GET /api/me/orders), by last ms:
        written beside a bag checkout, and by the sale workers for sale orders."""
        return f"{self.keys.prefix}:shop:me:{user_id}"

    def host_rooms(self, host_id: str) -> str:
        return self.keys.host_rooms(host_id)
