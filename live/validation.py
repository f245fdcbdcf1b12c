"""Pure checks of decoded JSON request bodies, each failure a `BadRequest` naming the field."""

from __future__ import annotations

from typing import Any

from live.errors import BadRequest
from live.text import clean_name, clean_text

JsonObject = dict[str, Any]


def expect_object(data: Any) -> JsonObject:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def text_field(
    body: JsonObject,
    key: str,
    *,
    max_len: int,
    min_len: int = 1,
    required: bool = True,
    default: str = "",
) -> str:
    """A string field, stripped, between `min_len` and `max_len` characters."""
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"`{key}` is required", field=key)
        return default
    if not isinstance(value, str):
        raise BadRequest(f"`{key}` must be a string", field=key)
    value = clean_text(value)
    if len(value) < min_len:
        raise BadRequest(f"`{key}` must not be empty", field=key)
    if len(value) > max_len:
        raise BadRequest(f"`{key}` must be at most {max_len} characters", field=key)
    return value


def name_field(body: JsonObject, key: str, *, max_len: int) -> str:
    """A display name: one line, without control, bidi-override or zero-width chars."""
    value = clean_name(text_field(body, key, max_len=max_len))
    if not value:
        raise BadRequest(f"`{key}` must not be empty", field=key)
    return value


def int_field(
    body: JsonObject,
    key: str,
    *,
    low: int,
    high: int,
    required: bool = True,
    default: int = 0,
) -> int:
    """A whole number from `low` to `high`; booleans and floats are refused."""
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"`{key}` is required", field=key)
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"`{key}` must be a whole number", field=key)
    if not low <= value <= high:
        raise BadRequest(f"`{key}` must be from {low} to {high}", field=key)
    return value


def query_limit(raw: str | None, *, default: int = 20, high: int = 100) -> int:
    """The `?limit=` of a list endpoint."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest("`limit` must be a whole number", field="limit") from exc
    if not 1 <= value <= high:
        raise BadRequest(f"`limit` must be from 1 to {high}", field="limit")
    return value
