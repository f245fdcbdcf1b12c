"""The first search index (every matching document scored and sorted), kept only as the
baseline of loadtests/bench_search.py: the redesign in live/discovery/index.py is measured
against it in the same run."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from live.discovery.model import Document
from live.discovery.text import TYPO_MIN_LEN, is_cjk, query_words, snippet, tokens, within_one_edit

# BM25 parameters (the usual ones) and field weights: a title match counts twice.
K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
# A term reached through a typo scores this fraction of an exact one.
TYPO_FACTOR = 0.5
# Live shows rank higher; ended ones fade over a week.
LIVE_BOOST = 2.0
RECENT_BOOST = 0.5
RECENT_MS = 7 * 86_400_000


@dataclass(frozen=True)
class Hit:
    doc: Document
    matched: int
    score: float

    def answer(self, needles: list[str]) -> dict[str, Any]:
        text = self.doc.body or self.doc.title
        return {
            "kind": self.doc.kind,
            "score": round(self.score, 4),
            "title": self.doc.title,
            "snippet": snippet(text, needles),
            "url": self.doc.url,
            **self.doc.extra,
        }


class BaselineIndex:
    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self._postings: dict[str, dict[str, float]] = defaultdict(dict)
        self._lengths: dict[str, int] = {}
        self._total_len = 0
        # Latin terms by length (typo candidates), Chinese characters to their bigrams.
        self._latin_by_len: dict[int, set[str]] = defaultdict(set)
        self._char_terms: dict[str, set[str]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._docs)

    def put(self, doc: Document) -> None:
        self.remove(doc.key)
        counts: dict[str, float] = defaultdict(float)
        title_terms = tokens(doc.title)
        body_terms = tokens(doc.body)
        for t in title_terms:
            counts[t] += TITLE_WEIGHT
        for t in body_terms:
            counts[t] += 1
        for term, tf in counts.items():
            self._postings[term][doc.key] = tf
            if is_cjk(term):
                for ch in term:
                    self._char_terms[ch].add(term)
            elif len(term) >= TYPO_MIN_LEN - 1:
                self._latin_by_len[len(term)].add(term)
        length = len(title_terms) * TITLE_WEIGHT + len(body_terms)
        self._lengths[doc.key] = length
        self._total_len += length
        self._docs[doc.key] = doc

    def remove(self, key: str) -> None:
        old = self._docs.pop(key, None)
        if old is None:
            return
        for term in set(tokens(old.title)) | set(tokens(old.body)):
            posting = self._postings.get(term)
            if posting is not None:
                posting.pop(key, None)
                if not posting:
                    del self._postings[term]
        self._total_len -= self._lengths.pop(key, 0)

    def _idf(self, term: str) -> float:
        n = len(self._postings.get(term, ()))
        return math.log(1 + (len(self._docs) - n + 0.5) / (n + 0.5))

    def _bm25(self, term: str) -> dict[str, float]:
        posting = self._postings.get(term)
        if not posting:
            return {}
        idf = self._idf(term)
        avg = self._total_len / max(1, len(self._docs))
        lengths = self._lengths
        return {
            key: idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[key] / avg))
            for key, tf in posting.items()
        }

    def _word_scores(self, terms: tuple[str, ...], word: str) -> dict[str, float]:
        """Documents having the word, with its score: every bigram of a Chinese run, or
        a Latin word exactly or (5+ letters) at one edit."""
        if len(terms) > 1:  # a Chinese run: all of its bigrams
            scores: dict[str, float] | None = None
            for term in terms:
                s = self._bm25(term)
                scores = s if scores is None else {k: v + s[k] for k, v in scores.items() if k in s}
                if not scores:
                    return {}
            return scores or {}
        if is_cjk(word):  # one character: as a word, or inside a bigram
            found = dict(self._bm25(word))
            for term in self._char_terms.get(word, ()):
                for k, v in self._bm25(term).items():
                    found[k] = max(found.get(k, 0.0), v)
            return found
        found = dict(self._bm25(word))
        if len(word) >= TYPO_MIN_LEN:
            for n in (len(word) - 1, len(word), len(word) + 1):
                for term in self._latin_by_len.get(n, ()):
                    if term != word and within_one_edit(word, term):
                        for k, v in self._bm25(term).items():
                            found[k] = max(found.get(k, 0.0), v * TYPO_FACTOR)
        return found

    def search(self, q: str, kind: str | None, now_ms: int) -> tuple[list[Hit], list[str]]:
        """Every matching document, best first: most query words matched, then BM25 with
        the live and recency boosts; and the words to highlight."""
        words = query_words(q)
        matched: dict[str, int] = defaultdict(int)
        scores: dict[str, float] = defaultdict(float)
        for w in words:
            for key, s in self._word_scores(w.terms, w.word).items():
                matched[key] += 1
                scores[key] += s
        hits: list[Hit] = []
        for key, count in matched.items():
            doc = self._docs[key]
            if kind is not None and doc.kind != kind:
                continue
            boost = 1.0
            if doc.live:
                boost += LIVE_BOOST
            elif doc.kind != "product" and doc.at_ms:
                age = max(0, now_ms - doc.at_ms)
                boost += RECENT_BOOST * math.exp(-age / RECENT_MS)
            hits.append(Hit(doc, count, scores[key] * boost))
        hits.sort(key=lambda h: (-h.matched, -h.score, h.doc.key))
        return hits, [w.word for w in words]
