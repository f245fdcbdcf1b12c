"""What the search holds and answers: documents and hits. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from live.discovery.text import snippet

KINDS = ("product", "room", "moment")


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    doc_id: str  # the sku, the room id, or `<room_id>:<at_ms>:<type>` of a moment
    title: str
    body: str  # description, variant labels, host name...: searched, snippeted
    url: str
    live: bool = False
    at_ms: int = 0  # a room's or a moment's time (ended, or created): the recency boost
    extra: dict[str, Any] = field(default_factory=dict)  # sku, room_id, at_ms answered

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.doc_id}"


@dataclass(frozen=True)
class Hit:
    doc: Document
    matched: int  # how many of the query's words the document has
    score: float

    def answer(self, needles: list[str]) -> dict[str, Any]:
        # The body around a match, or the title when the match is there only.
        body = self.doc.body.lower()
        in_body = any(n and n in body for n in needles)
        text = self.doc.body if in_body or not self.doc.title else self.doc.title
        return {
            "kind": self.doc.kind,
            "score": round(self.score, 4),
            "title": self.doc.title,
            "snippet": snippet(text, needles),
            "url": self.doc.url,
            **self.doc.extra,
        }
