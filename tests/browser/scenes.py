"""Rooms set up as a person would find them: a line-up of products, a pin, some chat."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer

SHIRT: dict[str, Any] = {
    "title": "Washed linen shirt, oat",
    "image_url": "/static/img/linen-shirt.svg",
    "description": "Stone-washed European linen, relaxed cut.",
    "price_cents": 32900,
    "variants": [
        {"variant_id": "s", "label": "S", "stock": 3},
        {"variant_id": "m", "label": "M", "stock": 2},
    ],
}
MUG: dict[str, Any] = {
    "title": "Hand-thrown ceramic mug with a long name that does not fit on one line",
    "image_url": "/static/img/ceramic-mug.svg",
    "description": "Made in Jingdezhen.",
    "price_cents": 12800,
    "stock": 4,
}
SCARF: dict[str, Any] = {
    "title": "Mulberry silk scarf",
    "image_url": "/static/img/silk-scarf.svg",
    "price_cents": 45900,
    "stock": 1,
}
# The same line-up as a Chinese shop writes it (what a Chinese page is tried with).
SHIRT_ZH: dict[str, Any] = {
    **SHIRT,
    "title": "水洗亚麻衬衫 燕麦色",
    "description": "欧洲亚麻，宽松版型。",
    "variants": [
        {"variant_id": "s", "label": "小码", "stock": 3},
        {"variant_id": "m", "label": "中码", "stock": 2},
    ],
}
MUG_ZH: dict[str, Any] = {**MUG, "title": "手工拉坯陶瓷杯", "description": "景德镇制。"}


async def shop_room(
    live_server: LiveServer, *products: dict[str, Any], title: str = "Autumn linen"
) -> dict[str, Any]:
    """A room whose line-up holds `products` (created in the catalog first): the room as
    POST /api/rooms answers it, with `products` (the catalog entries) added."""
    room = await live_server.new_room(title)
    made = []
    for fields in products:
        product = await live_server.new_product(**fields)
        path = f"/api/rooms/{room['room_id']}/products"
        answer = await live_server.as_user(
            room["host_token"], "POST", path, json={"sku": product["sku"]}
        )
        assert answer.status_code == 201, answer.text
        made.append(product)
    return {**room, "products": made}
