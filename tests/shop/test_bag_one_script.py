"""On one Redis server a bag checkout is one script (bag_checkout.lua, composed of the
stepped path's own scripts): one EVALSHA per checkout, and every answer and every unit
exactly as the stepped path leaves them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest

from live.app import Parts, create_app
from live.commerce.inventory import LineRequest, parse_inventory, priced_lines, variant_keys
from live.errors import LiveError
from live.redisdb.client import Redis
from live.redisdb.scripts import CompositionError, script_source
from live.rooms.model import Room
from tests.conftest import make_settings
from tests.redis_server import TestRedis

SIZES = {
    "variants": [
        {"variant_id": "s", "label": "S", "stock": 3},
        {"variant_id": "m", "label": "M", "stock": 2},
    ]
}
# role -> inventory; each path's run gets products of its own under these roles
ROLES: dict[str, dict[str, Any]] = {"shirt": SIZES, "mug": {"stock": 4}, "cup": {"stock": 1}}
# (key, lines as (role, variant, qty)): a bag of three products, its replay, a bag with a
# short line (nothing of it may stay taken), the first key with another body, a last bag
# that takes what is left
CHECKOUTS: list[tuple[str, list[tuple[str, str | None, int]]]] = [
    ("k1", [("shirt", "m", 2), ("mug", None, 1), ("cup", None, 1)]),
    ("k1", [("shirt", "m", 2), ("mug", None, 1), ("cup", None, 1)]),
    ("k2", [("mug", None, 1), ("shirt", "m", 1), ("cup", None, 1)]),
    ("k1", [("mug", None, 1)]),
    ("k3", [("shirt", "s", 3), ("mug", None, 3)]),
]


async def test_one_script_checkout_answers_and_leaves_what_the_steps_do(
    redis: Redis, redis_server: TestRedis
) -> None:
    # No lifespan: no sweeper or other background script runs beside the checkouts.
    svc = create_app(make_settings(), redis_server.url).parts
    stories = {}
    for path in ("stepped", "one_script"):
        svc.bag.one_script = path == "one_script"
        room_id = f"r_once_{path}"
        products = await _open_room(svc, room_id, path)
        await svc.bag.steps.load()  # as the lifespan does: no NOSCRIPT to count
        await redis.config_resetstat()
        answers = [await _checkout(svc, room_id, products, key, bag) for key, bag in CHECKOUTS]
        scripts_run = (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"]
        if path == "one_script":
            assert scripts_run == len(CHECKOUTS)  # one script per checkout, nothing else
        else:
            assert scripts_run > 2 * len(CHECKOUTS)
        stories[path] = (answers, await _state(svc, redis, room_id, products))
    assert stories["one_script"] == stories["stepped"]
    answers, (counts, *_) = stories["one_script"]
    assert [a[0] for a in answers] == [201, 200, "not_enough_left", "idempotency_mismatch", 201]
    assert answers[2][1] == {"field": "lines[1]", "left": 0}
    assert counts["shirt"]["m"] == {"stock": 2, "available": 0, "held": 2, "sold": 0}
    assert counts["cup"]["_"]["available"] == 0 and counts["mug"]["_"]["available"] == 0


async def _open_room(svc: Parts, room_id: str, path: str) -> dict[str, dict[str, Any]]:
    now = svc.clock.now_ms()
    await svc.rooms.create(Room(room_id, "t", "h", "h_1", "open", False, now))
    products = {}
    for role, inventory in ROLES.items():
        product = {
            "sku": f"{role}-{path.replace('_', '-')}",
            "title": role,
            "price_cents": 1000,
            "currency": "EUR",
            **parse_inventory(inventory),
        }
        await svc.catalog.create(dict(product), now)
        await svc.bag.init_product(product)
        await svc.rooms.add_to_lineup(room_id, product["sku"], now, orjson.dumps(product))
        products[role] = product
    return products


async def _checkout(
    svc: Parts,
    room_id: str,
    products: dict[str, dict[str, Any]],
    key: str,
    bag: list[tuple[str, str | None, int]],
) -> tuple[Any, Any]:
    """(status, the order with its ids and times left out) or (error code, its details)."""
    requests = [LineRequest(products[role]["sku"], variant, qty) for role, variant, qty in bag]
    by_sku = {product["sku"]: product for product in products.values()}
    lines = priced_lines(requests, by_sku)
    known = {sku: variant_keys(product) for sku, product in by_sku.items()}
    try:
        outcome = await svc.bag.checkout(room_id, "u_1", key, requests, lines, "EUR", None, known)
    except LiveError as exc:
        return exc.code, exc.extra
    order = _by_role(outcome.order, products)
    for varying in ("order_id", "room_id", "created_at", "expires_at"):
        order.pop(varying)
    return 201 if outcome.created else 200, order


async def _state(
    svc: Parts, redis: Redis, room_id: str, products: dict[str, dict[str, Any]]
) -> tuple[Any, ...]:
    """Every product's counts and reservations, the room's line-up stock, its journal."""
    sk = svc.bag.shop_keys
    counts = await svc.bag.counts([p["sku"] for p in products.values()])
    reservations = {}
    for role, product in products.items():
        held = await redis.hvals(sk.inventory(product["sku"])[1])
        # state|variant|qty, without the time it was placed
        reservations[role] = Counter(v.decode().rsplit("|", 1)[0] for v in held)
    stock = await redis.hgetall(sk.lineup_stock(room_id))
    lineup = {k.decode(): orjson.loads(v) for k, v in stock.items() if not k.startswith(b"_")}
    journal = (
        await redis.hlen(sk.bag_journal(room_id)),
        await redis.zcard(sk.bag_journal_due(room_id)),
    )
    return (
        {role: counts[product["sku"]] for role, product in products.items()},
        reservations,
        _by_role(lineup, products),
        journal,
    )


def _by_role(found: Any, products: dict[str, dict[str, Any]]) -> Any:
    """`found` with every product's sku replaced by its role."""
    raw = orjson.dumps(found).decode()
    for role, product in products.items():
        raw = raw.replace(product["sku"], role)
    return orjson.loads(raw)


def test_a_part_whose_keys_no_longer_fit_fails_the_composition(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from live.redisdb import scripts

    for name in ("bag_begin", "inv_reserve", "inv", "bag_commit", "bag_ack", "bag_checkout"):
        (tmp_path / f"{name}.lua").write_text((scripts.LUA_DIR / f"{name}.lua").read_text())
    for name in ("_lib", "_shop"):
        (tmp_path / f"{name}.lua").write_text((scripts.LUA_DIR / f"{name}.lua").read_text())
    begin = (tmp_path / "bag_begin.lua").read_text()
    # bag_begin.lua grows an eighth key that bag_checkout.lua does not pass on
    (tmp_path / "bag_begin.lua").write_text("-- KEYS[8] a new key\n" + begin)
    monkeypatch.setattr(scripts, "LUA_DIR", tmp_path)
    script_source.cache_clear()
    try:
        with pytest.raises(CompositionError, match=r"bag_begin.lua to name KEYS\[1..7\]"):
            script_source("bag_checkout")
    finally:
        monkeypatch.undo()
        script_source.cache_clear()


def test_an_operator_turns_the_one_script_checkout_off(redis_server: TestRedis) -> None:
    """`[commerce] bag_one_script = false` keeps every checkout on the stepped path."""
    assert create_app(make_settings(), redis_server.url).parts.bag.one_script
    off = make_settings(LIVE_COMMERCE_BAG_ONE_SCRIPT="false")
    assert not create_app(off, redis_server.url).parts.bag.one_script
