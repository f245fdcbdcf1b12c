"""PURE: which of the pages' languages a request's `Accept-Language` asks for.

The pages come in English and Simplified Chinese. Any Chinese tag (zh, zh-CN, zh-Hans,
zh-TW...) gets Chinese, any English tag English; the highest `q` wins, and the first listed
wins a tie. A reader's own choice, made on the page, is kept in the browser and wins there.
"""

from __future__ import annotations

DEFAULT = "en"
CHINESE = "zh-CN"


def _supported(tag: str) -> str | None:
    lower = tag.strip().lower()
    if lower == "zh" or lower.startswith("zh-"):
        return CHINESE
    if lower == "en" or lower.startswith("en-"):
        return DEFAULT
    return None


def _weight(params: list[str]) -> float:
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def page_language(accept_language: str | None) -> str:
    """`"en"` or `"zh-CN"` for an `Accept-Language` value (English when none fits)."""
    best, best_q = DEFAULT, 0.0
    for item in (accept_language or "").split(",")[:32]:
        tag, *params = item.split(";")
        found = _supported(tag)
        q = _weight(params)
        if found and q > best_q:
            best, best_q = found, q
    return best
