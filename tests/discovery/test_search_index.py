"""The index's early termination returns exactly what reading everything would, in the same
order (so pages never overlap or skip), through both of its ways of finding the top k."""

from __future__ import annotations

import random

import pytest

from live.discovery import index as index_module
from live.discovery.index import SearchIndex
from live.discovery.model import Document
from live.discovery.typos import TypoIndex

WORDS = [
    "linen",
    "shirt",
    "quiet",
    "cabinet",
    "felt",
    "lamp",
    "jade",
    "wok",
    "router",
    "kettle",
    "降噪机柜",
    "羊毛毡",
    "铁锅",
]
QUERIES = [
    "linen",
    "linen shirt",
    "quiet cabinet lamp",
    "jade wok router",
    "降噪 机柜",
    "降噪",
    "铁",
    "shirts",
    "kettle nosuchword linen",
    "羊毛毡 felt",
]
EVERYTHING = 10**6


def _corpus(n: int) -> list[Document]:
    rng = random.Random(7)
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    docs = []
    for i in range(n):
        kind = ("product", "product", "room", "moment")[i % 4]
        docs.append(
            Document(
                kind=kind,
                doc_id=f"d{i}",
                title=" ".join(rng.choices(WORDS, weights, k=rng.randint(1, 4))),
                body=" ".join(rng.choices(WORDS, weights, k=rng.randint(0, 12))),
                url=f"/x/{i}",
                live=kind == "room" and i % 13 == 0,
                at_ms=0 if kind == "product" else 1_000 + i,
            )
        )
    return docs


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    built = SearchIndex()
    for doc in _corpus(3000):
        built.put(doc)
    return built


def _keys(index: SearchIndex, q: str, depth: int, kind: str | None = None) -> list[str]:
    hits, _ = index.search(q, kind, now_ms=5_000, depth=depth)
    return [h.doc.key for h in hits]


@pytest.mark.parametrize("few", [1_000, 3])  # 3: the threshold reading nearly always
@pytest.mark.parametrize("q", QUERIES)
def test_top_k_is_the_start_of_the_whole_ranking(
    index: SearchIndex, q: str, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "FEW_IN_COMMON", few)
    whole = _keys(index, q, EVERYTHING)
    assert whole, q
    for depth in (1, 2, 5, 21, 60):
        assert _keys(index, q, depth) == whole[:depth], (q, depth)
    for kind in ("product", "room", "moment"):
        of_kind = {key for key in whole if key.startswith(kind + ":")}
        assert set(_keys(index, q, EVERYTHING, kind)) == of_kind


def test_all_words_first_then_all_but_the_last(index: SearchIndex) -> None:
    hits, _ = index.search("quiet cabinet lamp", None, now_ms=5_000, depth=EVERYTHING)
    counts = [h.matched for h in hits]
    assert counts == sorted(counts, reverse=True) and counts[0] == 3 and counts[-1] == 1
    for hit in hits:
        text = f"{hit.doc.title} {hit.doc.body}".split()
        assert all(w in text for w in ["quiet", "cabinet", "lamp"][: hit.matched])


def test_live_room_ranks_above_the_same_text() -> None:
    index = SearchIndex()
    for i in range(50):
        index.put(Document("product", f"p{i}", "felt lamp", "", "/p"))
    index.put(Document("room", "live", "felt lamp", "", "/r/live", live=True))
    hits, _ = index.search("felt lamp", None, now_ms=0, depth=1)
    assert hits[0].doc.doc_id == "live"


def test_replaced_and_removed_documents_are_never_answered() -> None:
    index = SearchIndex()
    for i in range(200):
        index.put(Document("product", f"p{i}", f"kettle {i}", "", "/p"))
    index.put(Document("product", "p7", "teapot", "", "/p"))
    for i in range(100, 200):
        index.remove(f"product:p{i}")
    found = {h.doc.doc_id for h in index.search("kettle", None, 0, EVERYTHING)[0]}
    assert found == {f"p{i}" for i in range(100)} - {"p7"}
    assert [h.doc.doc_id for h in index.search("teapot", None, 0, 5)[0]] == ["p7"]
    assert index.search("199", None, 0, 5)[0] == []


def test_compaction_keeps_every_live_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "COMPACT_MIN", 10)
    index = SearchIndex()
    for round_ in range(5):
        for i in range(40):
            index.put(Document("room", f"r{i}", f"show {round_}", "", "/r", live=i % 2 == 0))
    found = {h.doc.doc_id for h in index.search("show", None, 0, EVERYTHING)[0]}
    assert found == {f"r{i}" for i in range(40)}
    assert index.search("0", None, 0, 5)[0] == []
    assert len(index.search("4", None, 0, EVERYTHING)[0]) == 40


def test_typo_index_finds_one_edit_only() -> None:
    typos = TypoIndex()
    for term in ("headphones", "cabinet", "cabinets", "cabernet", "lamp"):
        typos.add(term)
    assert typos.near("headphnes") == ["headphones"]
    assert typos.near("cabinet") == ["cabinets"]
    assert typos.near("cabinit") == ["cabinet"]
    assert typos.near("lamb") == []  # under five letters: exact only
    typos.discard("cabinets")
    assert typos.near("cabinet") == []
