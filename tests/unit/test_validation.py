import pytest

from live.api.catalog import parse_product
from live.errors import BadRequest
from live.redisdb.client import persistence_problems
from live.validation import expect_object, int_field, query_limit, text_field

CURRENCIES = ("CNY", "USD")


def product(**fields: object) -> dict[str, object]:
    return {"sku": "mug-1", "title": "Mug", "price_cents": 1200, "currency": "cny", **fields}


def test_valid_product_is_normalised() -> None:
    parsed = parse_product(product(), CURRENCIES, 200, 4000)
    assert parsed["currency"] == "CNY"
    assert parsed["image_url"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sku": ""}, "sku"),
        ({"sku": "has space"}, "sku"),
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": 12.5}, "price_cents"),
        ({"price_cents": True}, "price_cents"),
        ({"price_cents": 10**30}, "price_cents"),
        ({"currency": "XXX"}, "currency"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
    ],
)
def test_invalid_product_names_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_product(product(**fields), CURRENCIES, 200, 4000)
    assert info.value.extra["field"] == field


def test_fields_and_limits() -> None:
    with pytest.raises(BadRequest):
        expect_object([1, 2])
    assert text_field({"a": "  hi "}, "a", max_len=5) == "hi"
    with pytest.raises(BadRequest):
        text_field({"a": "   "}, "a", max_len=5)
    assert int_field({}, "n", low=1, high=3, required=False, default=2) == 2
    assert query_limit(None) == 20
    for bad in ("0", "101", "x", "-5"):
        with pytest.raises(BadRequest):
            query_limit(bad)


def test_persistence_problems_follow_the_durability_promise() -> None:
    good = {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}
    assert persistence_problems(good, "everysec") == []
    assert persistence_problems(good, "always") == ["appendfsync must be always"]
    assert len(persistence_problems({**good, "appendonly": "no"}, "everysec")) == 1
    evicting = {**good, "maxmemory-policy": "allkeys-lru"}
    assert "noeviction" in persistence_problems(evicting, "everysec")[0]
