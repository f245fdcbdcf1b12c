"""A small blocking client of the `live` HTTP API (stdlib only), for set-up and checks.

Inside locust, gevent makes its sockets cooperative; elsewhere it is a plain client.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


class ApiError(Exception):
    """An answer other than the one expected."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        super().__init__(f"{method} {path} answered {status}: {body}")
        self.status = status
        self.body = body

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


class Api:
    """Calls one deployment with one bearer token."""

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request; answer its status and decoded JSON body (None if empty)."""
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data, sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return answer.status, _decode(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())

    def expect(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """The JSON body of an answer with `status`; anything else raises ApiError."""
        got, answer = self.call(method, path, body)
        if got != status:
            raise ApiError(method, path, got, answer)
        return answer


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass(frozen=True)
class RoomSetup:
    """A room made for a run: its host token and the SKUs of its line-up."""

    room_id: str
    host_token: str
    skus: list[str]
    price_cents: int


def set_up_room(admin: Api, run_id: str, title: str, products: int = 3) -> RoomSetup:
    """Create products, a room and its line-up, through the API as the admin."""
    price = 9900
    skus = []
    for n in range(products):
        sku = f"load-{run_id}-{n}"
        admin.expect(
            "POST",
            "/api/products",
            {"sku": sku, "title": f"Load test item {n}", "price_cents": price, "currency": "CNY"},
            status=201,
        )
        skus.append(sku)
    room = admin.expect(
        "POST", "/api/rooms", {"title": title, "host_name": "Load host"}, status=201
    )
    for sku in skus:
        admin.expect("POST", f"/api/rooms/{room['room_id']}/products", {"sku": sku}, status=201)
    return RoomSetup(room["room_id"], room["host_token"], skus, price)


def room_orders(api: Api, room_id: str, page_size: int = 100) -> list[dict[str, Any]]:
    """Every order of a room, following `next` to the last page."""
    orders: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": str(page_size), **({"cursor": cursor} if cursor else {})}
        page = api.expect("GET", f"/api/rooms/{room_id}/orders?{urlencode(query)}")
        orders += page.get("orders", [])
        cursor = page.get("next")
        if not cursor:
            return orders


def get_sale(api: Api, sale_id: str) -> dict[str, Any]:
    sale: dict[str, Any] = api.expect("GET", f"/api/sales/{sale_id}")
    return sale
