"""Which language a page is served in, from the request's Accept-Language."""

from __future__ import annotations

import pytest

from live.api.languages import page_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "zh-CN"),
        ("fr-FR, de;q=0.9", "en"),
        ("fr-FR, zh;q=0.3", "zh-CN"),
        ("en, zh", "en"),
        ("zh;q=0, en;q=0.1", "en"),
        ("zh;q=abc", "en"),
        ("*", "en"),
    ],
)
def test_accept_language_picks_english_or_chinese(header: str | None, expected: str) -> None:
    assert page_language(header) == expected
