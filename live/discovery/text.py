"""Tokens of English and Chinese text, and highlighted snippets. Pure.

Latin script: lower-cased runs of letters and digits. Chinese (CJK ideographs): character
bigrams of each run, and the single character of a one-character run; a query is cut the
same way, so `降噪机柜` and `降噪 机柜` and `降噪` all share the bigram `降噪` with the text.
Bigrams need no dictionary to keep up to date (jieba's would miss shop words such as
product names) and never split a word the writer meant differently from the reader.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Typo tolerance (edit distance 1) for Latin words of this many letters or more.
TYPO_MIN_LEN = 5


def is_cjk(token: str) -> bool:
    return bool(_CJK.match(token))


def tokens(text: str) -> list[str]:
    """The index terms of `text`, in order, repeats kept (for term frequencies)."""
    out: list[str] = []
    for run in _WORD.findall(text.lower()):
        if not is_cjk(run) or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


@dataclass(frozen=True)
class QueryWord:
    """One word of the query (a Latin word or a Chinese run) and the terms it needs."""

    word: str
    terms: tuple[str, ...]


def query_words(q: str) -> list[QueryWord]:
    """The query's words, each with its terms: a Chinese run needs all its bigrams (a
    single character is looked up among the unigrams and as the start of bigrams)."""
    words: list[QueryWord] = []
    for run in _WORD.findall(q.lower()):
        if is_cjk(run) and len(run) > 1:
            words.append(QueryWord(run, tuple(run[i : i + 2] for i in range(len(run) - 1))))
        else:
            words.append(QueryWord(run, (run,)))
    seen: set[str] = set()
    unique = []
    for w in words:
        if w.word not in seen:
            seen.add(w.word)
            unique.append(w)
    return unique


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance of `a` and `b` is at most 1 (substitution, insertion, deletion
    or, as Meilisearch counts it, nothing more)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def snippet(text: str, needles: list[str], width: int = 120) -> str:
    """`text` around its first match, HTML-escaped, matches wrapped in <mark>."""
    if not text:
        return ""
    lower = text.lower()
    hits = sorted(
        (m.start(), m.end()) for n in needles if n for m in re.finditer(re.escape(n), lower)
    )
    start = max(0, hits[0][0] - width // 3) if hits else 0
    end = min(len(text), start + width)
    parts: list[str] = ["…" if start > 0 else ""]
    pos = start
    for s, e in hits:
        if s < pos or e > end:
            continue
        parts.append(html.escape(text[pos:s]))
        parts.append(f"<mark>{html.escape(text[s:e])}</mark>")
        pos = e
    parts.append(html.escape(text[pos:end]))
    if end < len(text):
        parts.append("…")
    return "".join(parts)
