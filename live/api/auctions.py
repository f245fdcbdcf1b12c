"""Auctions: open one in a room, read it, list a room's, and bid (one Redis round trip)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.catalog import parse_sku
from live.api.http import Endpoint, json_response, path_param
from live.api.rooms import room_id_of
from live.auth import require_buyer, require_manager
from live.commerce.auction_rules import parse_auction_request, parse_bid
from live.commerce.auctions import AuctionStore
from live.commerce.catalog import Catalog
from live.commerce.rules import MAX_PRICE_CENTS, parse_idempotency_key
from live.http_input import RequestReader
from live.rooms.store import RoomStore
from live.settings import AuthSettings, CommerceSettings
from live.validation import expect_object

AUCTION_SCHEMA = {
    "type": "object",
    "required": ["sku", "start_cents", "duration_s"],
    "properties": {
        "sku": {"type": "string"},
        "variant_id": {"type": "string"},
        "start_cents": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE_CENTS},
        "duration_s": {"type": "integer", "minimum": 1},
        "mode": {"type": "string", "enum": ["standard", "sudden_death"]},
        "extend_s": {"type": "integer", "minimum": 1, "maximum": 300},
        "reserve_cents": {"type": "integer", "minimum": 0, "maximum": MAX_PRICE_CENTS},
    },
}
BID_SCHEMA = {
    "type": "object",
    "required": ["amount_cents"],
    "properties": {
        "amount_cents": {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_CENTS},
        "max_cents": {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_CENTS},
    },
}


class AuctionApi:
    def __init__(
        self,
        reader: RequestReader,
        auctions: AuctionStore,
        rooms: RoomStore,
        catalog: Catalog,
        commerce: CommerceSettings,
        auth: AuthSettings,
    ) -> None:
        self._reader = reader
        self._auctions = auctions
        self._rooms = rooms
        self._catalog = catalog
        self._commerce = commerce
        self._auth = auth

    async def create(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        body = expect_object(await self._reader.read_json(request))
        auction_request = parse_auction_request(body, self._commerce)
        parse_sku(auction_request.sku)
        await self._rooms.get_open(room_id)
        product = await self._catalog.get(auction_request.sku)
        return json_response(await self._auctions.create(room_id, auction_request, product), 201)

    async def get(self, request: Request) -> Response:
        return json_response(await self._auctions.get(path_param(request, "auction_id")))

    async def room_auctions(self, request: Request) -> Response:
        room_id = room_id_of(request)
        await self._rooms.get(room_id)
        return json_response({"auctions": await self._auctions.room_auctions(room_id)})

    async def bid(self, request: Request) -> Response:
        identity = require_buyer(
            self._reader.identity(request), anonymous_can_buy=self._auth.anonymous_can_buy
        )
        key = parse_idempotency_key(request.headers.get("idempotency-key"))
        amount, max_cents = parse_bid(expect_object(await self._reader.read_json(request)))
        outcome = await self._auctions.bid(
            path_param(request, "auction_id"),
            identity.user_id,
            identity.name,
            key,
            amount,
            max_cents,
        )
        return json_response(outcome.answer, 201 if outcome.created else 200)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "POST",
                "/api/rooms/{room_id}/auctions",
                self.create,
                "Open an auction of one SKU in the room",
                who="host, admin",
                body=AUCTION_SCHEMA,
                responses={201: "the auction", 404: "not_found", 409: "room_ended"},
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/auctions",
                self.room_auctions,
                "The room's auctions, newest first",
                responses={200: "{auctions}", 404: "not_found"},
            ),
            Endpoint(
                "GET",
                "/api/auctions/{auction_id}",
                self.get,
                "One auction: price, leader, ends_at, the latest bids",
                responses={200: "the auction", 404: "not_found"},
            ),
            Endpoint(
                "POST",
                "/api/auctions/{auction_id}/bids",
                self.bid,
                "Bid (header Idempotency-Key required); max_cents bids by proxy",
                who="viewer",
                body=BID_SCHEMA,
                responses={
                    201: "{bid_id, price_cents, leader_id, ends_at, leading}",
                    200: "the answer this Idempotency-Key already had",
                    400: "bad_request",
                    409: "bid_too_low, auction_ended",
                    422: "idempotency_mismatch",
                },
            ),
        ]
