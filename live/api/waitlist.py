"""Waitlists: join, leave and read one's place on a sold-out sale's waitlist."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response, path_param
from live.auth import require_buyer
from live.commerce.waitlist import WaitlistStore
from live.http_input import RequestReader
from live.settings import AuthSettings

PLACE = "{position, waiting, offer_expires_at}"


class WaitlistApi:
    def __init__(self, reader: RequestReader, waitlists: WaitlistStore, auth: AuthSettings) -> None:
        self._reader = reader
        self._waitlists = waitlists
        self._auth = auth

    def _buyer_id(self, request: Request) -> str:
        identity = require_buyer(
            self._reader.identity(request), anonymous_can_buy=self._auth.anonymous_can_buy
        )
        return identity.user_id

    async def join(self, request: Request) -> Response:
        place = await self._waitlists.join(path_param(request, "sale_id"), self._buyer_id(request))
        return json_response(place.to_public(), 201 if place.joined_now else 200)

    async def leave(self, request: Request) -> Response:
        sale_id = path_param(request, "sale_id")
        left = await self._waitlists.leave(sale_id, self._buyer_id(request))
        return json_response({"left": left, "position": None})

    async def place(self, request: Request) -> Response:
        sale_id = path_param(request, "sale_id")
        place = await self._waitlists.place(sale_id, self._buyer_id(request))
        return json_response(place.to_public())

    def endpoints(self) -> list[Endpoint]:
        path = "/api/sales/{sale_id}/waitlist"
        return [
            Endpoint(
                "POST",
                path,
                self.join,
                "Join a sold-out sale's waitlist (one entry per buyer, for one unit)",
                who="viewer",
                responses={
                    201: PLACE,
                    200: "already on it: the same place",
                    404: "not_found",
                    409: "not_sold_out, sale_not_open, limit_reached, already_offered",
                },
            ),
            Endpoint(
                "DELETE",
                path,
                self.leave,
                "Leave the waitlist (a unit kept for you passes on)",
                who="viewer",
                responses={200: "{left, position: null}", 404: "not_found"},
            ),
            Endpoint(
                "GET",
                path,
                self.place,
                "Your place on the waitlist",
                who="viewer",
                responses={200: PLACE, 404: "not_found"},
            ),
        ]
