"""Every Lua script stays on one hash slot and publishes through the sharded helper; the
replicated durability settings and the WAIT that follows an order write. No Redis here."""

from __future__ import annotations

import re

import pytest

from live.redisdb.batch import ReplicaWait
from live.redisdb.client import persistence_problems
from live.redisdb.keys import Keys
from live.redisdb.scripts import LUA_DIR
from live.settings import SettingsError
from tests.conftest import make_settings


def _lua_sources() -> dict[str, str]:
    scripts = (p for p in LUA_DIR.iterdir() if p.name.endswith(".lua"))
    return {path.name: path.read_text() for path in sorted(scripts, key=lambda p: p.name)}


def test_scripts_publish_room_events_only_through_the_sharded_helper() -> None:
    # A plain PUBLISH is heard by no room subscriber (they SSUBSCRIBE), and on a cluster
    # it would cross every node's bus.
    sources = _lua_sources()
    assert "buy.lua" in sources and "_lib.lua" in sources
    for name, source in sources.items():
        calls = re.findall(r"redis\.call\('(S?PUBLISH)'", source)
        expected = ["SPUBLISH"] if name == "_lib.lua" else []
        assert calls == expected, f"{name} publishes with {calls}"


def test_scripts_build_keys_only_from_keys_of_their_own_tag() -> None:
    # A key built inside a script must start from a KEYS[i] or from an ARGV prefix the
    # header names as under the room's tag; a literal key name would be another slot.
    for name, source in _lua_sources().items():
        for literal in re.findall(r"redis\.call\('[A-Z]+', '([^']*)'", source):
            assert ":" not in literal, f"{name} names a key {literal!r} outside KEYS"


def test_every_room_and_sale_key_shares_the_room_hash_tag() -> None:
    keys = Keys("live")
    room, sale = "r_abc", "s_r_abc_x"
    tagged = [
        keys.room(room),
        keys.room_cards(room),
        keys.room_lineup(room),
        keys.room_channel(room),
        keys.room_history(room),
        keys.sale(room, sale),
        keys.sale_holds(room, sale),
        keys.sale_idempotency(room, sale),
        keys.order(room, "o_r_abc_y"),
        keys.room_order_records(room),
        *keys.room_channel_keys(room),
    ]
    assert {re.search(r"\{[^}]*\}", k).group(0) for k in tagged} == {"{r:r_abc}"}  # type: ignore[union-attr]


def test_replicated_durability_waits_for_the_configured_replicas() -> None:
    settings = make_settings(
        LIVE_COMMERCE_DURABILITY="replicated",
        LIVE_COMMERCE_MIN_REPLICAS="2",
        LIVE_COMMERCE_REPLICA_WAIT_MS="300",
    )
    wait = ReplicaWait.of(settings.commerce)
    assert wait == ReplicaWait(2, 300)
    packed = wait.commands("live:{r:a}:sale:s")
    # A write on the same slot, then WAIT: one connection, one round trip.
    assert packed.startswith(b"*5\r\n$3\r\nSET\r\n$19\r\nlive:{r:a}:sale:s:w\r\n")
    assert packed.endswith(b"*3\r\n$4\r\nWAIT\r\n$1\r\n2\r\n$3\r\n300\r\n")
    assert ReplicaWait.of(make_settings().commerce) is None


def test_modes_and_durabilities_are_checked() -> None:
    assert make_settings(LIVE_REDIS_MODE="cluster").redis.mode == "cluster"
    assert make_settings().redis.mode == "single"
    with pytest.raises(SettingsError):
        make_settings(LIVE_REDIS_MODE="sentinel")
    with pytest.raises(SettingsError, match="replica_wait_ms must be at least 1"):
        make_settings(LIVE_COMMERCE_REPLICA_WAIT_MS="0")
    good = {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}
    assert persistence_problems(good, "replicated") == []
