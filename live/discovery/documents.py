"""Search documents of products and rooms. Pure."""

from __future__ import annotations

from typing import Any

from live.discovery.model import Document
from live.rooms.model import Room


def product_document(product: dict[str, Any]) -> Document:
    """Title, description and variant labels (when the shop gives variants)."""
    sku = str(product["sku"])
    labels = [
        str(v.get("label", ""))
        for v in product.get("variants") or ()
        if isinstance(v, dict) and v.get("label")
    ]
    body = " ".join([str(product.get("description") or ""), *labels]).strip()
    return Document(
        kind="product",
        doc_id=sku,
        title=str(product.get("title", sku)),
        body=body,
        url=f"/api/products/{sku}",
        extra={"sku": sku},
    )


def room_document(room: Room) -> Document:
    return Document(
        kind="room",
        doc_id=room.room_id,
        title=room.title,
        body=f"{room.description} {room.host_name}".strip(),
        url=f"/r/{room.room_id}",
        live=room.live,
        at_ms=room.ended_at or room.starts_at or room.created_at,
        extra={"room_id": room.room_id, "status": room.status, "live": room.live},
    )
