"""Ranking on the fixed corpus (tests/data/search_corpus.json), through the pure index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from live.discovery.documents import product_document, room_document
from live.discovery.index import SearchIndex
from live.discovery.moments import Chapter, moment_document
from live.rooms.model import Room

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "search_corpus.json").read_text("utf-8")
)


def _index() -> SearchIndex:
    index = SearchIndex()
    for p in CORPUS["products"]:
        index.put(product_document(p))
    rooms = {}
    for r in CORPUS["rooms"]:
        room = rooms[r["room_id"]] = Room(
            status="ended", live=False, created_at=1, host_user_id="h", **r
        )
        index.put(room_document(room))
    for m in CORPUS["moments"]:
        chapter = Chapter(m["at_ms"], m["type"], m["title"], m.get("sku"), tuple(m["said"]))
        index.put(moment_document(rooms[m["room_id"]], chapter))
    return index


INDEX = _index()


@pytest.mark.parametrize(("q", "kind", "expected"), CORPUS["queries"])
def test_expected_top_result(q: str, kind: str, expected: str) -> None:
    hits, _ = INDEX.search(q, None, now_ms=2, depth=10)
    assert hits, q
    assert (hits[0].doc.kind, hits[0].doc.doc_id) == (kind, expected)


def test_snippet_highlights_and_unknown_word_keeps_results() -> None:
    hits, needles = INDEX.search("noise nosuchword", None, now_ms=2, depth=10)
    assert hits[0].doc.doc_id in ("nas-cab", "headphones")
    assert "<mark>noise</mark>" in hits[0].answer(needles)["snippet"]


def test_all_words_before_some() -> None:
    hits, _ = INDEX.search("wireless headphones", None, now_ms=2, depth=10)
    assert hits[0].matched == 2 and hits[0].doc.doc_id == "headphones"


def test_a_moment_opens_its_replay_at_its_time() -> None:
    hits, needles = INDEX.search("机洗", None, now_ms=2, depth=1)
    answer = hits[0].answer(needles)
    room_id = CORPUS["moments"][1]["room_id"]
    assert answer["kind"] == "moment" and answer["room_id"] == room_id
    assert answer["url"] == f"/r/{room_id}?t=95" and answer["at_ms"] == 95_000
    assert "<mark>机洗</mark>" in answer["snippet"]
