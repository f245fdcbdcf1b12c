"""PURE: user text made safe to show to others: no control, bidi-override or zero-width
characters (they hide or reorder what others read); CJK, emoji and their joiners kept."""

from __future__ import annotations

import unicodedata

# Bidi embeddings, overrides and isolates, and the implicit marks (U+200E/F, U+061C).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# Zero-width and invisible characters; U+200D (ZWJ) is handled apart: emoji need it.
INVISIBLE = "\u200b\u200c\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad"
DROPPED = frozenset(BIDI_CONTROLS + INVISIBLE)
ZWJ = "\u200d"


def clean_text(text: str, *, newlines: bool = True) -> str:
    """`text` without control (but, when `newlines`, "\\n"), bidi and zero-width chars;
    a tab reads as a space. Unassigned code points stay: newer emoji are among them."""
    kept: list[str] = []
    for index, ch in enumerate(text):
        if ch == "\t":
            kept.append(" ")
        elif ch == "\n" and newlines:
            kept.append(ch)
        elif ch == ZWJ:
            if _joins_emoji(text, index):
                kept.append(ch)
        elif ch not in DROPPED and unicodedata.category(ch) not in ("Cc", "Cs"):
            kept.append(ch)
    return "".join(kept).strip()


def clean_name(name: str) -> str:
    """A display name on one line, cleaned as `clean_text`."""
    return " ".join(clean_text(name, newlines=False).split())


def name_key(name: str) -> str:
    """The form two names are compared in: NFKC, case-folded, cleaned, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", clean_name(name)).casefold().split())


def _joins_emoji(text: str, index: int) -> bool:
    # A ZWJ between two pictographs (or a pictograph and its variation selector) builds
    # one emoji such as a family; anywhere else it only hides text.
    if index == 0 or index + 1 >= len(text):
        return False
    return _pictograph(text[index - 1]) and _pictograph(text[index + 1])


def _pictograph(ch: str) -> bool:
    return (
        unicodedata.category(ch) == "So"
        or ch in "\ufe0f\u2640\u2642"
        or ("\U0001f3fb" <= ch <= "\U0001f3ff")
    )
