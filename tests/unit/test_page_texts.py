"""The pages' texts: every message a page uses exists in English and in Chinese, with the
same placeholders, and every error code the server can answer has the pages' own words."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from live.commerce import auction_rules, rules, waitlist
from live.realtime import questions, store
from live.settings import PROJECT_ROOT

WEB = PROJECT_ROOT / "web"
LANGUAGES = ("en", "zh-CN")
# Keys built at run time (`order.status.${status}`), with every value they can take.
ORDER_STATUSES: tuple[str, ...] = ("held", "paid", "shipped", "delivered", "return_requested")
ORDER_STATUSES += ("partly_refunded", "refunded", "cancelled", "expired")
SALE_STATUSES = ("scheduled", "open", "sold_out", "closed")
DYNAMIC = {
    *(f"order.status.{s}" for s in ORDER_STATUSES),
    *(f"dash.status.{s}" for s in ORDER_STATUSES + SALE_STATUSES),
    *(f"conn.{s}" for s in ("connecting", "online", "unauthorized")),
    *(f"lang.name.{lang}" for lang in LANGUAGES),
}
# Codes the pages meet that no server module spells out as a literal.
CLIENT_CODES = {"offline"}


@cache
def catalog(lang: str) -> dict[str, Any]:
    """web/js/i18n/<lang>.js is `export default {JSON};`."""
    text = (WEB / "js" / "i18n" / f"{lang}.js").read_text(encoding="utf-8").strip()
    assert text.startswith("export default ") and text.endswith(";"), lang
    data: dict[str, Any] = json.loads(text.removeprefix("export default ").removesuffix(";"))
    return data


def used_keys() -> set[str]:
    keys = set(DYNAMIC)
    for path in (WEB / "js").glob("*.js"):
        keys |= set(re.findall(r"\b(?:t|tNodes)\(\"([\w.-]+)\"", path.read_text(encoding="utf-8")))
    for path in WEB.glob("*.html"):
        html = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'data-i18n="([\w.-]+)"', html))
        for pairs in re.findall(r'data-i18n-attr="([^"]+)"', html):
            keys |= {pair.split(":", 1)[1] for pair in pairs.split()}
    return keys


def placeholders(message: Any) -> set[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    return {name for form in forms for name in re.findall(r"\{(\w+)\}", form)}


def server_error_codes() -> set[str]:
    """Every `code` the server answers with: literals in live/, and the outcome tables."""
    codes: set[str] = set()
    for path in Path(PROJECT_ROOT / "live").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        codes |= set(re.findall(r'\bcode="([a-z_]+)"', source))
        codes |= set(re.findall(r'default_code = "([a-z_]+)"', source))
        codes |= set(re.findall(r'ChannelError\(\s*"([a-z_]+)"', source))
    codes |= set(rules._CONFLICT_MESSAGES) | set(auction_rules._BID_ERRORS)
    codes |= set(waitlist._REFUSALS)
    codes |= {code for code, _ in questions._REFUSALS.values()}
    codes |= {code for code, _ in store._REFUSALS.values()}
    return codes | CLIENT_CODES


def test_both_languages_have_the_same_messages_with_the_same_placeholders() -> None:
    english, chinese = catalog("en"), catalog("zh-CN")
    assert set(english) == set(chinese)
    for key, message in english.items():
        assert placeholders(message) == placeholders(chinese[key]), key
        assert isinstance(message, str) or "other" in message, key


def test_every_text_a_page_uses_is_in_the_catalog() -> None:
    missing = used_keys() - set(catalog("en"))
    assert not missing, sorted(missing)


def test_every_server_error_code_has_the_pages_own_words() -> None:
    missing = {code for code in server_error_codes() if f"error.{code}" not in catalog("en")}
    assert not missing, sorted(missing)


def test_the_chinese_texts_are_chinese() -> None:
    """No English sentence left in the Chinese catalog (URLs and placeholders aside)."""
    allowed = {"English", "live", "https", "http", "localhost", "HTTPS"}
    for key, message in catalog("zh-CN").items():
        if key.startswith("lang.name."):
            continue
        for form in message.values() if isinstance(message, dict) else [message]:
            words = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", form)))
            assert words <= allowed, (key, words - allowed)
