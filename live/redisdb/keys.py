"""Every Redis key and channel name, in one place.

All keys of one room (its record, history, presence, sales, orders, idempotency keys)
share the hash tag `{r:<room_id>}`, so a room's scripts touch one Redis Cluster slot.
Lifetimes are listed in docs/redis-keys.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    # --- global ---------------------------------------------------------------
    def product(self, sku: str) -> str:
        return f"{self.prefix}:product:{sku}"

    def products_index(self) -> str:
        return f"{self.prefix}:products"

    def rooms_index(self) -> str:
        """Sorted set of all rooms, scored by creation time (ms)."""
        return f"{self.prefix}:rooms"

    def scheduled_rooms_index(self) -> str:
        """Sorted set of scheduled rooms (not yet live), scored by `starts_at` (ms)."""
        return f"{self.prefix}:rooms:scheduled"

    def ended_rooms_index(self) -> str:
        """Sorted set of recently ended rooms, scored by end time (ms); trimmed."""
        return f"{self.prefix}:rooms:ended"

    def host_rooms(self, host_id: str) -> str:
        """Sorted set of one host's rooms, scored by creation time (ms)."""
        return f"{self.prefix}:host:{host_id}:rooms"

    def signing_secret(self) -> str:
        """String: the random token signing secret, made once (live.security.signing)."""
        return f"{self.prefix}:auth:signing_secret"

    def rate(self, scope: str, subject: str) -> str:
        return f"{self.prefix}:rate:{scope}:{subject}"

    def conn_leases(self, ip: str) -> str:
        """Sorted set of one address's open websocket connections, over every worker:
        member `<process_id>:<conn_id>`, score the lease's deadline (Redis ms)."""
        return self.rate("conn", ip)

    def media_leases(self, ip: str) -> str:
        """Sorted set of one address's media sessions (WHIP and WHEP), over every process;
        members and scores as `conn_leases`."""
        return self.rate("media", ip)

    # --- the node registry (one hash tag: one slot on a cluster) -------------------
    def node_tag(self) -> str:
        return f"{{{self.prefix}:nodes}}"

    def node_processes(self) -> str:
        """Hash of every live `live serve` process: "<node_id>:<pid>" -> its entry (JSON)."""
        return f"{self.node_tag()}:procs"

    def node_seen(self) -> str:
        """Sorted set of the same members, scored by their last heartbeat (Redis ms)."""
        return f"{self.node_tag()}:seen"

    def nodes_draining(self) -> str:
        """Set of the node ids an admin is draining (no new rooms' origins go there)."""
        return f"{self.node_tag()}:draining"

    def node_nonce(self, nonce_hex: str) -> str:
        """A request between nodes already taken (refuses its replay), for a minute."""
        return f"{self.node_tag()}:nonce:{nonce_hex}"

    # --- per room (one hash tag) ----------------------------------------------
    def room_tag(self, room_id: str) -> str:
        return f"{self.prefix}:{{r:{room_id}}}"

    def room(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:room"

    def room_lineup(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:lineup"

    def room_cards(self, room_id: str) -> str:
        """Hash sku -> product card (JSON) of the line-up, copied from the catalog when
        the product joins the line-up, so pinning reads only the room's slot."""
        return f"{self.room_tag(room_id)}:cards"

    def room_seq(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:seq"

    def room_epoch(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:epoch"

    def room_history(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:history"

    def room_thumbnail(self, room_id: str) -> str:
        """Hash: the room's latest picture (`jpeg`, `etag`, `at` ms)."""
        return f"{self.room_tag(room_id)}:thumb"

    def room_channel(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:events"

    # --- room channel (live.realtime) --------------------------------------------
    def room_chat(self, room_id: str) -> str:
        """List of the latest chat events (JSON), newest first, for snapshots."""
        return f"{self.room_tag(room_id)}:chat"

    def room_pinned(self, room_id: str) -> str:
        """The pinned product card (JSON); absent when nothing is pinned."""
        return f"{self.room_tag(room_id)}:pinned"

    def room_likes(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:likes"

    def room_presence(self, room_id: str) -> str:
        """Hash: process id -> "<connections>:<expires ms>"; `_total` the last published."""
        return f"{self.room_tag(room_id)}:presence"

    def room_peak(self, room_id: str) -> str:
        """The room's peak viewer count (string integer)."""
        return f"{self.room_tag(room_id)}:peak"

    def room_moderation(self, room_id: str) -> str:
        """Hash of room-wide chat rules: `slow_mode` seconds."""
        return f"{self.room_tag(room_id)}:mod"

    def room_muted(self, room_id: str) -> str:
        """Sorted set: user id scored by the ms their mute ends."""
        return f"{self.room_tag(room_id)}:muted"

    def room_banned(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:banned"

    def room_staff(self, room_id: str) -> str:
        """Set: user ids of the hosts and admins who chatted (never muted or banned)."""
        return f"{self.room_tag(room_id)}:staff"

    def room_banned_ips(self, room_id: str) -> str:
        """Set: client addresses banned from the room (`ban` with scope ip)."""
        return f"{self.room_tag(room_id)}:banned_ips"

    def room_muted_ips(self, room_id: str) -> str:
        """Sorted set: client addresses scored by the ms their mute ends."""
        return f"{self.room_tag(room_id)}:muted_ips"

    def room_addresses(self, room_id: str) -> str:
        """Hash: user id -> the address it last connected from (for scope ip)."""
        return f"{self.room_tag(room_id)}:addresses"

    def room_chat_rate(self, room_id: str, user_id: str) -> str:
        return f"{self.room_tag(room_id)}:chatrate:{user_id}"

    def room_slow(self, room_id: str, user_id: str) -> str:
        return f"{self.room_tag(room_id)}:slow:{user_id}"

    def room_channel_keys(self, room_id: str) -> list[str]:
        """Every room-wide key of the channel layer (expired with the room)."""
        return [
            self.room_chat(room_id),
            self.room_pinned(room_id),
            self.room_likes(room_id),
            self.room_presence(room_id),
            self.room_peak(room_id),
            self.room_moderation(room_id),
            self.room_muted(room_id),
            self.room_banned(room_id),
            self.room_staff(room_id),
            self.room_banned_ips(room_id),
            self.room_muted_ips(room_id),
            self.room_addresses(room_id),
        ]

    # --- sales and orders (see live/commerce/ids.py: sale and order ids embed the room id,
    # so every key below shares the room's hash tag) ----------------------------
    def sales_active(self) -> str:
        """Global sorted set of sales the sale workers still tend (scheduled, open, holds)."""
        return f"{self.prefix}:sales:active"

    def room_sales(self, room_id: str) -> str:
        """Sorted set of the room's sales, scored by creation time (ms)."""
        return f"{self.room_tag(room_id)}:sales"

    def sale(self, room_id: str, sale_id: str) -> str:
        return f"{self.room_tag(room_id)}:sale:{sale_id}"

    def sale_holds(self, room_id: str, sale_id: str) -> str:
        """Sorted set of held order ids scored by their deadline (Redis ms)."""
        return f"{self.sale(room_id, sale_id)}:holds"

    def sale_buyers(self, room_id: str, sale_id: str) -> str:
        """Hash user_id -> units held or paid (the per-buyer limit)."""
        return f"{self.sale(room_id, sale_id)}:buyers"

    def sale_idempotency(self, room_id: str, sale_id: str) -> str:
        """Hash `<user_id> <Idempotency-Key>` -> `<order_id>|<body fingerprint>`."""
        return f"{self.sale(room_id, sale_id)}:idem"

    def sale_log(self, room_id: str, sale_id: str) -> str:
        """Stream of the sale's order changes, read by the `orders` consumer group."""
        return f"{self.sale(room_id, sale_id)}:log"

    def order_prefix(self, room_id: str) -> str:
        return f"{self.room_tag(room_id)}:order:"

    def order(self, room_id: str, order_id: str) -> str:
        return f"{self.order_prefix(room_id)}{order_id}"

    def room_order_seq(self, room_id: str) -> str:
        """Counter giving each order of the room its number (`order_no`)."""
        return f"{self.room_tag(room_id)}:orders:seq"

    def room_orders(self, room_id: str) -> str:
        """The durable order record's index: sorted set order_id by `order_no`."""
        return f"{self.room_tag(room_id)}:orders:index"

    def room_order_records(self, room_id: str) -> str:
        """The durable order record: hash order_id -> order JSON (written by the log consumer)."""
        return f"{self.room_tag(room_id)}:orders:records"

    def room_order_stats(self, room_id: str) -> str:
        """Hash of the room's totals: orders, units_sold, gmv_cents, orders_placed."""
        return f"{self.room_tag(room_id)}:orders:stats"

    def room_paying_buyers(self, room_id: str) -> str:
        """Set of user ids with at least one paid order in the room."""
        return f"{self.room_tag(room_id)}:orders:buyers"

    def room_media_viewer_leases(self, room_id: str) -> str:
        """Sorted set of the room's WHEP sessions over every process (leases, as
        `conn_leases`): `[media] max_viewers_per_room`."""
        return f"{self.room_tag(room_id)}:media_viewer_leases"

    def sale_waitlist(self, room_id: str, sale_id: str) -> str:
        """Sorted set of waiting user ids, scored by when they joined (first in line first)."""
        return f"{self.sale(room_id, sale_id)}:waitlist"

    def sale_offers(self, room_id: str, sale_id: str) -> str:
        """Sorted set of user ids a unit is kept for, scored by the offer's deadline (ms)."""
        return f"{self.sale(room_id, sale_id)}:offers"

    # --- auctions (auction ids embed the room id too; the won lot is sold through a
    # one-unit sale record of the auction's id: `sale(room_id, auction_id)`) -----------
    def auctions_active(self) -> str:
        """Global sorted set of auctions the sweepers still have to end."""
        return f"{self.prefix}:auctions:active"

    def room_auctions(self, room_id: str) -> str:
        """Sorted set of the room's auctions, scored by creation time (ms)."""
        return f"{self.room_tag(room_id)}:auctions"

    def auction(self, room_id: str, auction_id: str) -> str:
        return f"{self.room_tag(room_id)}:auction:{auction_id}"

    def auction_idempotency(self, room_id: str, auction_id: str) -> str:
        """Hash `<user_id> <Idempotency-Key>` -> `<fingerprint>|<answer JSON>`."""
        return f"{self.auction(room_id, auction_id)}:idem"

    def auction_bids(self, room_id: str, auction_id: str) -> str:
        """List of the auction's latest price changes (JSON), newest first."""
        return f"{self.auction(room_id, auction_id)}:bids"

    # --- questions -----------------------------------------------------------------
    def room_questions(self, room_id: str) -> str:
        """Hash question_id -> question JSON (answered or not)."""
        return f"{self.room_tag(room_id)}:questions"

    def room_open_questions(self, room_id: str) -> str:
        """Sorted set of unanswered question ids, scored by when they were asked (ms)."""
        return f"{self.room_tag(room_id)}:questions:open"

    def product_answers(self, sku: str) -> str:
        """Global sorted set of a product's answered questions (JSON), scored by answer ms."""
        return f"{self.prefix}:product:{sku}:answers"

    def room_publisher_ended(self, room_id: str, session_id: str) -> str:
        """A publisher session that ended without a DELETE, for a minute (TTL): its late
        DELETE answers 200 (a WHIP client that closes its connection first, then deletes)."""
        return f"{self.room_tag(room_id)}:media_ended:{session_id}"

    def room_media_owner(self, room_id: str) -> str:
        """The internal address of the process holding the room's media (TTL, heartbeat)."""
        return f"{self.room_tag(room_id)}:media_owner"

    def room_media_processes(self, room_id: str) -> str:
        """Zset of the processes serving the room's viewers, scored by when they lapse."""
        return f"{self.room_tag(room_id)}:media_procs"

    def room_media_viewers(self, room_id: str) -> str:
        """Hash of each process's WHEP viewer count of the room ("<node_id>:<pid>")."""
        return f"{self.room_tag(room_id)}:media_viewers"

    # --- replays and the media clock (live/replay, live/media/recorder.py). The clock and
    # chapter names are also derived in _lib.lua from the room's seq key: keep them
    # `<room tag>:mclock` and `<room tag>:chapters`. --------------------------------------
    def room_media_clock(self, room_id: str) -> str:
        """Hash `pos` (ms on the media clock of the last video frame forwarded), `at` (Redis
        ms it was forwarded), `ttl` (the chapters' lifetime, s): only while the room is live."""
        return f"{self.room_tag(room_id)}:mclock"

    def room_chapters(self, room_id: str) -> str:
        """List of the replay's chapters (JSON), oldest first, never trimmed."""
        return f"{self.room_tag(room_id)}:chapters"

    def room_replay(self, room_id: str) -> str:
        """Hash: the replay's state (status, t0, parts, file, duration, the room's card)."""
        return f"{self.room_tag(room_id)}:replay"

    def room_replay_lineup(self, room_id: str) -> str:
        """Hash sku -> product card (JSON): the line-up kept with the replay."""
        return f"{self.room_tag(room_id)}:replay:lineup"

    def room_replay_still(self, room_id: str) -> str:
        """Hash jpeg, etag, at: the replay's picture (a frame of its recording)."""
        return f"{self.room_tag(room_id)}:replay:still"

    def replays_index(self) -> str:
        """Global sorted set of ready replays, scored by when they became ready (ms)."""
        return f"{self.prefix}:replays"

    def room_media_relays(self, room_id: str) -> str:
        """Hash of the nodes pulling the room: node id -> its relay worker, its parent."""
        return f"{self.room_tag(room_id)}:media_relays"
