"""Latin terms one edit away from a query word, without scanning the vocabulary. Pure.

SymSpell's idea: every term is filed under itself and under each string made by deleting
one of its letters. Two words one substitution apart share a deletion; one insertion apart,
the shorter one is a deletion of the longer. So a word's candidates are the terms filed
under the word or one of its deletions, checked with `within_one_edit` (two deletions at
different places can meet at edit distance two).
"""

from __future__ import annotations

from collections import defaultdict

from live.discovery.text import TYPO_MIN_LEN, is_cjk, within_one_edit


def _deletions(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class TypoIndex:
    def __init__(self) -> None:
        self._filed: dict[str, set[str]] = defaultdict(set)

    @staticmethod
    def wants(term: str) -> bool:
        """Latin terms that a typo of a word of TYPO_MIN_LEN letters or more can reach."""
        return len(term) >= TYPO_MIN_LEN - 1 and not is_cjk(term)

    def add(self, term: str) -> None:
        for key in _deletions(term):
            self._filed[key].add(term)

    def discard(self, term: str) -> None:
        for key in _deletions(term):
            filed = self._filed.get(key)
            if filed is not None:
                filed.discard(term)
                if not filed:
                    del self._filed[key]

    def near(self, word: str) -> list[str]:
        """The indexed terms at edit distance exactly 1 from `word`, sorted."""
        if len(word) < TYPO_MIN_LEN:
            return []
        found: set[str] = set()
        for key in _deletions(word):
            found |= self._filed.get(key, set())
        return sorted(t for t in found if t != word and within_one_edit(word, t))
