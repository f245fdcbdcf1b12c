"""The pure rules between nodes: sealed requests, where a new room's origin goes, and how
the registry's processes add up to nodes."""

from __future__ import annotations

import pytest

from live.routing.nodes import ProcessEntry, Registered
from live.routing.placement import ORIGIN_WEIGHT, least_loaded, summarize
from live.routing.sealed import FRESH_MS, RequestSealer, SealError, is_fresh, node_secret


def test_a_sealed_request_opens_only_with_the_secret_and_for_its_purpose() -> None:
    sealer = RequestSealer(b"secret")
    nonce, sealed = sealer.seal(b"request", b'{"op":"whip"}')
    assert b"whip" not in sealed
    assert RequestSealer(b"secret").open(b"request", sealed) == (nonce, b'{"op":"whip"}')
    with pytest.raises(SealError):
        RequestSealer(b"another").open(b"request", sealed)
    # An answer cannot be passed off as a request, nor one request's answer as another's.
    with pytest.raises(SealError):
        sealer.open(b"answer " + nonce, sealed)
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealError):
        sealer.open(b"request", altered)
    with pytest.raises(SealError):
        sealer.open(b"request", b"short")


def test_requests_are_fresh_for_a_while_only() -> None:
    assert is_fresh(1_000_000, 1_000_000 + FRESH_MS)
    assert not is_fresh(1_000_000, 1_000_001 + FRESH_MS)
    assert not is_fresh(1_000_001 + FRESH_MS, 1_000_000)


def test_the_node_secret_is_configured_or_derived_from_the_nodes_own_shared_secret() -> None:
    assert node_secret("configured", "workers") == b"configured"
    derived = node_secret("", "workers")
    assert derived == node_secret("", "workers") != node_secret("", "other")
    assert b"workers" not in derived


def entry(
    node: str, pid: int, viewers: int = 0, origins: int = 0, seen_at: int = 1
) -> ProcessEntry:
    return ProcessEntry(
        node,
        pid,
        f"http://{node}",
        viewers=viewers,
        origins=tuple(f"r_{node}{i}" for i in range(origins)),
        rooms=tuple(f"r_{node}{i}" for i in range(origins)),
        seen_at=seen_at,
    )


def test_processes_add_up_to_nodes() -> None:
    nodes = summarize(
        Registered(
            [
                entry("b", 2, viewers=5, seen_at=10),
                entry("a", 1, viewers=3, origins=1, seen_at=7),
                entry("b", 3, viewers=4, origins=2, seen_at=12),
            ]
        )
    )
    assert [n.node_id for n in nodes] == ["a", "b"]
    b = nodes[1]
    assert (b.workers, b.media_viewers, b.origins, b.rooms, b.seen_at) == (2, 9, 2, 2, 12)
    body = b.to_json()
    processes = body["processes"]
    assert isinstance(processes, list)
    assert body["url"] == "http://b" and [p["pid"] for p in processes] == [2, 3]


def chosen(processes: list[ProcessEntry], here: str, draining: frozenset[str] = frozenset()) -> str:
    best = least_loaded(summarize(Registered(processes, draining)), here)
    assert best is not None
    return best.node_id


def test_a_new_room_goes_to_the_least_loaded_node() -> None:
    busy = entry("a", 1, viewers=10)
    idle = entry("b", 2, viewers=2)
    assert chosen([busy, idle], here="a") == "b"
    # An origin weighs like ORIGIN_WEIGHT viewers; workers share a node's load.
    holding = entry("b", 2, viewers=0, origins=1)
    assert ORIGIN_WEIGHT > 10
    assert chosen([busy, holding], here="b") == "a"
    assert chosen([entry("c", 1, viewers=12), entry("c", 2, viewers=0), busy], here="a") == "c"


def test_ties_stay_on_the_node_the_request_reached() -> None:
    three = [entry("a", 1), entry("b", 2), entry("c", 3)]
    assert chosen(three, here="b") == "b"
    assert chosen(three, here="z") == "a"
    assert least_loaded([], here="a") is None


def test_a_node_being_drained_takes_no_new_room() -> None:
    three = [entry("a", 1, viewers=5), entry("b", 2), entry("c", 3, viewers=1)]
    assert chosen(three, here="b", draining=frozenset({"b"})) == "c"
    nodes = summarize(Registered(three, frozenset({"a", "b", "c"})))
    assert least_loaded(nodes, here="a") is None
    assert [n.to_json()["draining"] for n in nodes] == [True, True, True]
