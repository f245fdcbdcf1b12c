"""The search index: impact-ordered posting lists, read from the best end. Pure.

Each term has one posting list, best first: the impact of the term in a document is its
BM25 weight there (less the idf, the same all along one list) times the most the document's
boost can be (live rooms x3, other rooms x1.5, products and moments x1). A posting is one
64-bit integer, the impact rounded up (so it bounds the real one) and the document's
ordinal, and ascending integers are descending impacts: a list is an `array('q')`.

A query reads the lists of its own terms only, from the best end, scores each new document
exactly from its term frequencies, and stops once the k-th best score so far is at least
what an unread document could still score, the sum of the lists' current impacts (Fagin's
threshold algorithm). Words that rarely meet take the other way: the shortest list's
documents are checked for the other words, and the few that have them all are scored. A
query for the top 21 of 100,000 documents reads hundreds of postings, not every match.

Ranking (Meilisearch's `last` matching strategy): words that appear nowhere are dropped;
then documents with all the words, best first; when those run out, documents with all but
the last word, and so on. Scores: BM25 (k1 1.2, b 0.75, title terms counted twice); a
Chinese word sums its bigrams (all needed); a Latin word of 5+ letters also matches terms
one edit away, at half the score; one Chinese character matches itself or any bigram with
it. Ties keep the order in which the lists gave the documents, so pages never overlap.

Updates: a put appends to a short unsorted tail per list, merged into the list when a query
reads it; a removed document's postings are skipped when read and dropped in bulk once they
outnumber the live ones. Lengths are normed by an average frozen until it drifts by a
quarter, when every impact is computed again.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from live.discovery.model import KINDS, Document, Hit
from live.discovery.text import is_cjk, query_words, tokens
from live.discovery.typos import TypoIndex

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2
# A term reached through a typo scores this fraction of an exact one.
TYPO_FACTOR = 0.5
# Live shows rank higher; ended ones fade over a week. (A moment is not boosted: a
# product ranks above the moments that show it.)
LIVE_BOOST = 2.0
RECENT_BOOST = 0.5
RECENT_MS = 7 * 86_400_000
# The frozen average length is computed again when the real one has moved this much.
AVERAGE_DRIFT = 0.25
# Removed postings are dropped from the lists once there are this many and more than live.
COMPACT_MIN = 50_000
# Documents meeting every clause, up to this many, are all scored (see _few_in_common).
FEW_IN_COMMON = 1_000
# At most this many ordinals are kept in the sets of recently queried terms (~50 MB).
SET_BUDGET = 1_000_000
# A posting: (QUANTA - impact * SCALE, rounded down) << 32 | ordinal. Impacts are < 16.
SCALE = 1 << 27
QUANTA = (1 << 31) - 1
ORDINAL_MASK = (1 << 32) - 1
MAX_TF = 255
# Postings of recent puts wait in a list this long before a put merges them in.
TAIL_MAX = 256


def boost(doc: Document, now_ms: int) -> float:
    if doc.live:
        return 1 + LIVE_BOOST
    if doc.kind == "room" and doc.at_ms:
        return 1 + RECENT_BOOST * math.exp(-max(0, now_ms - doc.at_ms) / RECENT_MS)
    return 1.0


def boost_cap(doc: Document) -> float:
    """The most `boost` can ever give `doc` (its postings are ordered by it)."""
    if doc.live:
        return 1 + LIVE_BOOST
    return 1 + RECENT_BOOST if doc.kind == "room" else 1.0


class _Entry:
    """One indexed document: its terms (sorted) with their frequencies, and its norm."""

    __slots__ = ("cap", "doc", "length", "norm", "ordinal", "terms", "tfs")

    def __init__(self, doc: Document, ordinal: int, tf: dict[str, int]) -> None:
        self.doc = doc
        self.ordinal = ordinal
        self.terms = tuple(sorted(tf))
        self.tfs = bytes(min(MAX_TF, tf[t]) for t in self.terms)
        self.length = 0
        self.norm = 0.0
        self.cap = boost_cap(doc)

    def tf(self, term: str) -> int:
        i = bisect.bisect_left(self.terms, term)
        return self.tfs[i] if i < len(self.terms) and self.terms[i] == term else 0

    def posting(self, tf: int) -> int:
        impact = self.cap * tf * (K1 + 1) / (tf + self.norm)
        return (QUANTA - int(impact * SCALE)) << 32 | self.ordinal


@dataclass(frozen=True)
class _Alternative:
    term: str
    weight: float  # idf, times TYPO_FACTOR for a typo


# A document meets a clause with any of its alternatives, and scores the best one.
Clause = tuple[_Alternative, ...]
# A clause's postings: (bound of the score, ordinal), best first; duplicates possible.
Stream = Iterator[tuple[float, int]]


@dataclass(frozen=True)
class _Word:
    clauses: tuple[Clause, ...]  # all needed (a Chinese word: one per bigram)
    needles: tuple[str, ...]  # what to highlight


def _decoded(postings: array[int], weight: float) -> Stream:
    step = weight / SCALE
    # The stored impact was rounded down: one quantum more bounds the real one.
    return (((QUANTA + 1 - (p >> 32)) * step, p & ORDINAL_MASK) for p in postings)


class SearchIndex:
    def __init__(self) -> None:
        self._docs: dict[str, _Entry] = {}
        self._by_ordinal: dict[int, _Entry] = {}
        self._ordinals = itertools.count(1)
        self._lists: dict[str, array[int]] = {}
        self._tails: dict[str, list[int]] = {}
        self._df: dict[str, int] = {}  # live documents per term
        self._postings = 0
        self._stale = 0
        self._total_len = 0
        self._average = 0.0
        # Chinese characters to the terms holding them; Latin terms by their deletions.
        self._char_terms: dict[str, set[str]] = defaultdict(set)
        self._typos = TypoIndex()
        # Ordinal sets of the terms queries met lately (see _few_in_common).
        self._sets: dict[str, set[int]] = {}
        self._set_sizes = 0

    def __len__(self) -> int:
        return len(self._docs)

    def keys_starting(self, prefix: str) -> list[str]:
        """The keys (`<kind>:<id>`) of the documents held whose key starts with `prefix`."""
        return [key for key in self._docs if key.startswith(prefix)]

    # --- updates ----------------------------------------------------------------
    def put(self, doc: Document) -> None:
        """Add `doc`, replacing the document of the same key."""
        self.remove(doc.key)
        title, body = tokens(doc.title), tokens(doc.body)
        tf: dict[str, int] = defaultdict(int)
        for term in title:
            tf[term] += TITLE_WEIGHT
        for term in body:
            tf[term] += 1
        # One string per term, shared by every document holding it (a third of the memory).
        tf = {sys.intern(term): count for term, count in tf.items()}
        entry = _Entry(doc, next(self._ordinals), tf)
        entry.length = len(title) * TITLE_WEIGHT + len(body)
        if not self._average:
            self._average = float(max(1, entry.length))
        entry.norm = self._norm(entry.length)
        self._docs[doc.key] = entry
        self._by_ordinal[entry.ordinal] = entry
        self._total_len += entry.length
        self._postings += len(entry.terms)
        for term, count in zip(entry.terms, entry.tfs, strict=True):
            self._df[term] = self._df.get(term, 0) + 1
            cached = self._sets.get(term)
            if cached is not None:
                cached.add(entry.ordinal)
                self._set_sizes += 1
            postings = self._lists.get(term)
            if postings is None:
                self._lists[term] = array("q", [entry.posting(count)])
                self._vocabulary_add(term)
            else:
                tail = self._tails.setdefault(term, [])
                tail.append(entry.posting(count))
                if len(tail) > TAIL_MAX and len(tail) > len(postings) // 4:
                    self._merged(term)  # a bulk load: the tail must not grow as Python ints
        average = self._total_len / len(self._docs)
        if abs(average - self._average) > AVERAGE_DRIFT * self._average:
            self._reimpact(average)

    def remove(self, key: str) -> None:
        entry = self._docs.pop(key, None)
        if entry is None:
            return
        del self._by_ordinal[entry.ordinal]
        self._total_len -= entry.length
        self._postings -= len(entry.terms)
        self._stale += len(entry.terms)
        for term in entry.terms:
            df = self._df[term] - 1
            if df:
                self._df[term] = df
            else:
                del self._df[term]
        if self._stale > max(COMPACT_MIN, self._postings):
            self._compact()

    def _norm(self, length: int) -> float:
        return K1 * (1 - B + B * length / self._average)

    def _vocabulary_add(self, term: str) -> None:
        if is_cjk(term):
            for ch in term:
                self._char_terms[ch].add(term)
        elif TypoIndex.wants(term):
            self._typos.add(term)

    def _vocabulary_discard(self, term: str) -> None:
        if is_cjk(term):
            for ch in term:
                held = self._char_terms.get(ch)
                if held is not None:
                    held.discard(term)
                    if not held:
                        del self._char_terms[ch]
        elif TypoIndex.wants(term):
            self._typos.discard(term)

    def _reimpact(self, average: float) -> None:
        self._average = average
        lists: dict[str, list[int]] = defaultdict(list)
        for entry in self._docs.values():
            entry.norm = self._norm(entry.length)
            for term, count in zip(entry.terms, entry.tfs, strict=True):
                lists[term].append(entry.posting(count))
        self._replace_lists(lists)

    def _compact(self) -> None:
        live = self._by_ordinal
        lists: dict[str, list[int]] = {}
        for term in list(self._lists):
            kept = [p for p in self._merged(term) if p & ORDINAL_MASK in live]
            if kept:
                lists[term] = kept
        self._replace_lists(lists)

    def _replace_lists(self, lists: dict[str, list[int]]) -> None:
        for term in set(self._lists) - set(lists):
            self._vocabulary_discard(term)
        for term in set(lists) - set(self._lists):
            self._vocabulary_add(term)
        self._lists = {term: array("q", sorted(p)) for term, p in lists.items()}
        self._tails = {}
        self._sets = {}
        self._set_sizes = 0
        self._stale = 0

    def _merged(self, term: str) -> array[int]:
        """The term's postings, sorted, with the tail of recent puts merged in."""
        postings = self._lists[term]
        tail = self._tails.pop(term, None)
        if tail:
            postings.extend(tail)
            postings = self._lists[term] = array("q", sorted(postings))
        return postings

    # --- queries ----------------------------------------------------------------
    def _idf(self, term: str) -> float:
        n = self._df.get(term, 0)
        return math.log(1 + (len(self._docs) - n + 0.5) / (n + 0.5))

    def _words(self, q: str) -> list[_Word]:
        """The query's words that appear somewhere, each with its clauses."""
        words: list[_Word] = []
        for word in query_words(q):
            if len(word.terms) > 1:  # a Chinese word: every one of its bigrams
                if all(t in self._df for t in word.terms):
                    clauses = tuple((_Alternative(t, self._idf(t)),) for t in word.terms)
                    words.append(_Word(clauses, (word.word,)))
                continue
            text = word.word
            alternatives = [_Alternative(text, self._idf(text))] if text in self._df else []
            if is_cjk(text):  # one character: also any bigram holding it
                held = sorted(
                    t for t in self._char_terms.get(text, ()) if t != text and t in self._df
                )
                alternatives += [_Alternative(t, self._idf(t)) for t in held]
                needles: tuple[str, ...] = (text,)
            else:
                near = [t for t in self._typos.near(text) if t in self._df]
                alternatives += [_Alternative(t, self._idf(t) * TYPO_FACTOR) for t in near]
                needles = (text, *near)
            if alternatives:
                words.append(_Word((tuple(alternatives),), needles))
        return words

    def _stream(self, clause: Clause) -> Stream:
        streams = [_decoded(self._merged(a.term), a.weight) for a in clause]
        if len(streams) == 1:
            return streams[0]
        return heapq.merge(*streams, key=lambda posting: -posting[0])

    def _score(self, entry: _Entry, clauses: list[Clause], now_ms: int) -> float:
        """The document's exact score, 0 when it misses a clause."""
        norm = entry.norm
        total = 0.0
        for clause in clauses:
            best = 0.0
            for alternative in clause:
                tf = entry.tf(alternative.term)
                if tf:
                    best = max(best, alternative.weight * tf * (K1 + 1) / (tf + norm))
            if not best:
                return 0.0
            total += best
        return total * boost(entry.doc, now_ms)

    def _top(
        self, clauses: list[Clause], kinds: tuple[str, ...], k: int, taken: set[int], now: int
    ) -> list[tuple[float, _Entry]]:
        """The best `k` documents of `kinds` meeting every clause, not in `taken`."""
        found = None
        if len(clauses) > 1:
            found = self._few_in_common(clauses, kinds, k, taken, now)
        if found is None:
            found = self._threshold(clauses, kinds, k, taken, now)
        return [(score, self._by_ordinal[ordinal]) for score, _, ordinal in found]

    def _ordinal_set(self, term: str) -> set[int]:
        """The ordinals in the term's list (removed ones too), kept for the next query."""
        found = self._sets.get(term)
        if found is None:
            while self._sets and self._set_sizes > SET_BUDGET:
                oldest = next(iter(self._sets))
                self._set_sizes -= len(self._sets.pop(oldest))
            found = self._sets[term] = {p & ORDINAL_MASK for p in self._merged(term)}
            self._set_sizes += len(found)
        return found

    def _few_in_common(
        self, clauses: list[Clause], kinds: tuple[str, ...], k: int, taken: set[int], now: int
    ) -> list[tuple[float, int, int]] | None:
        """Words that rarely meet: the documents in every clause's lists (a set
        intersection, in C), all scored. None when they are not few, or not likely to be
        (as if the words were independent): reading in turns stops early then."""
        sizes = [sum(len(self._lists[a.term]) for a in clause) for clause in clauses]
        expected = float(len(self._docs))
        for size in sizes:
            expected *= size / max(1, len(self._docs))
        if expected > FEW_IN_COMMON:
            return None
        sets = []
        for clause in clauses:
            if len(clause) == 1:
                sets.append(self._ordinal_set(clause[0].term))
            else:
                sets.append(set().union(*(self._ordinal_set(a.term) for a in clause)))
        sets.sort(key=len)
        common = sets[0].intersection(*sets[1:])
        if len(common) > FEW_IN_COMMON + len(taken):
            return None
        scored = []
        for ordinal in common - taken:
            entry = self._by_ordinal.get(ordinal)
            if entry is not None and entry.doc.kind in kinds:
                scored.append((self._score(entry, clauses, now), -ordinal, ordinal))
        return heapq.nlargest(k, scored)

    def _threshold(
        self, clauses: list[Clause], kinds: tuple[str, ...], k: int, taken: set[int], now: int
    ) -> list[tuple[float, int, int]]:
        """Read the clauses' lists in turns from the best end, until no unread document
        can enter the top `k` (it scores at most the sum of the lists' current bounds)."""
        streams = [self._stream(c) for c in clauses]
        frontier = [math.inf] * len(streams)
        best: list[tuple[float, int, int]] = []  # a min-heap of (score, -rank, ordinal)
        seen = set(taken)
        rank = 0
        while True:
            for i, stream in enumerate(streams):
                posting = next(stream, None)
                if posting is None:
                    # Every document meeting all clauses is in this list: all were read.
                    return sorted(best, reverse=True)
                frontier[i], ordinal = posting
                if ordinal in seen:
                    continue
                seen.add(ordinal)
                entry = self._by_ordinal.get(ordinal)
                if entry is None or entry.doc.kind not in kinds:
                    continue
                score = self._score(entry, clauses, now)
                if not score:
                    continue
                rank += 1
                candidate = (score, -rank, ordinal)
                if len(best) < k:
                    heapq.heappush(best, candidate)
                elif candidate > best[0]:
                    heapq.heapreplace(best, candidate)
            if len(best) >= k and best[0][0] >= sum(frontier):
                return sorted(best, reverse=True)

    def search(
        self, q: str, kind: str | None, now_ms: int, depth: int
    ) -> tuple[list[Hit], list[str]]:
        """The best `depth` documents (of one kind, or all), and the words to highlight."""
        words = self._words(q)
        kinds = (kind,) if kind is not None else KINDS
        hits: list[Hit] = []
        taken: set[int] = set()
        for count in range(len(words), 0, -1):
            if len(hits) >= depth:
                break
            clauses = [c for w in words[:count] for c in w.clauses]
            for score, entry in self._top(clauses, kinds, depth - len(hits), taken, now_ms):
                hits.append(Hit(entry.doc, count, score))
                taken.add(entry.ordinal)
        return hits, [n for w in words for n in w.needles]
