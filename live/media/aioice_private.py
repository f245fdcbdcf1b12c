"""Every use of aioice's private attributes, in one place (built for aioice==0.13.0).

- `limit_udp_ports`: host candidates bind inside a UDP port range (aioice.ice gets an
  `asyncio` whose loop picks the port).
- `nominated_route`: the socket and address of a connection's nominated pair, for the
  synchronous send path (`live.media.aiortc_private.RtpLink`).
- `filter_remote_candidates`: remote candidates whose address must never be contacted
  (loopback, link-local, multicast, unspecified, cloud metadata; private ranges unless
  allowed) are dropped after aioice resolved them, `.local` mDNS names included, and at
  most `max_per_connection` remote candidates are taken per ICE connection.
`check()` runs at start-up: a missing attribute stops the server with one line.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import types
import weakref
from collections.abc import Callable
from typing import Any

import aioice.ice
from aioice import Candidate, Connection
from aioice.ice import CandidatePair, StunProtocol

from live.media.candidates import CandidatePolicy, refusal
from live.private_attrs import MissingPrivateAttribute, in_fresh_loop, require

LIBRARY = "aioice"
BUILT_FOR = "0.13.0"
CONNECTION_ATTRIBUTES = ("_nominated", "_add_remote_candidate", "add_remote_candidate")
# The parameters our wrappers pass on, by name, as aioice 0.13.0 declares them.
SIGNATURES = {
    "_add_remote_candidate": ("self", "remote_candidate", "network_host"),
    "add_remote_candidate": ("self", "remote_candidate"),
}

log = logging.getLogger("live.media")

Route = tuple[asyncio.DatagramTransport, tuple[str, int]]


def nominated_route(connection: Connection, component: int = 1) -> Route | None:
    """(transport, remote address) of the nominated pair, or None while there is none."""
    pair: CandidatePair | None = connection._nominated.get(component)
    if pair is None:
        return None
    transport = pair.protocol.transport
    if transport is None or transport.is_closing():
        return None
    return transport, pair.remote_addr


# --- the remote candidate filter ------------------------------------------------------

_policy = CandidatePolicy()
_taken: weakref.WeakKeyDictionary[Connection, int] = weakref.WeakKeyDictionary()
_original: dict[str, Callable[..., Any]] = {}


def filter_remote_candidates(allow_private: bool, max_per_connection: int) -> None:
    """Apply `CandidatePolicy(allow_private, max_per_connection)` to every aioice
    connection of this process from now on (it is the server's only ICE user)."""
    global _policy
    _policy = CandidatePolicy(allow_private=allow_private, max_remote=max_per_connection)
    if _original:
        return
    _original["add_remote_candidate"] = Connection.add_remote_candidate
    _original["_add_remote_candidate"] = Connection._add_remote_candidate
    Connection.add_remote_candidate = _capped_add  # type: ignore[method-assign]
    Connection._add_remote_candidate = _filtered_add  # type: ignore[method-assign]


async def _capped_add(self: Connection, remote_candidate: Candidate | None) -> None:
    """aioice's `add_remote_candidate`, taking at most `max_remote` candidates (before
    any mDNS lookup: a flood of `.local` names sends no flood of queries)."""
    if remote_candidate is not None:
        taken = _taken.get(self, 0)
        if taken >= _policy.max_remote:
            log.debug("remote candidate over the cap ignored", extra={"cap": _policy.max_remote})
            return
        _taken[self] = taken + 1
    await _original["add_remote_candidate"](self, remote_candidate)


def _filtered_add(self: Connection, remote_candidate: Candidate, network_host: str) -> None:
    """aioice's `_add_remote_candidate`, called with the address it will send to (an mDNS
    name already resolved): refused addresses never enter the check list."""
    reason = refusal(network_host, _policy)
    if reason is not None:
        log.debug(
            "remote candidate refused",
            extra={"candidate": remote_candidate.host, "address": network_host, "why": reason},
        )
        return
    _original["_add_remote_candidate"](self, remote_candidate, network_host)


# --- the UDP port range ---------------------------------------------------------------

_port_range: tuple[int, int] | None = None


class _RangeLoop:
    """The running loop, but host candidates bind to a port in the configured range."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(self, factory: Any, **kwargs: Any) -> Any:
        local = kwargs.get("local_addr")
        if _port_range is None or local is None or local[1] != 0:
            return await self._loop.create_datagram_endpoint(factory, **kwargs)
        low, high = _port_range
        ports = list(range(low, high + 1))
        start = random.randrange(len(ports))
        for port in ports[start:] + ports[:start]:
            try:
                return await self._loop.create_datagram_endpoint(
                    factory, **{**kwargs, "local_addr": (local[0], port)}
                )
            except OSError:
                continue
        raise OSError(f"no free UDP port in {low}-{high}")


class _AsyncioWithRange(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    def get_running_loop() -> Any:
        return _RangeLoop(asyncio.get_running_loop())


def limit_udp_ports(low: int, high: int) -> None:
    """Bind ICE host candidates to ports in [low, high]; (0, 0) lifts the limit."""
    global _port_range
    if low <= 0 or high <= 0:
        _port_range = None
        return
    if low > high:
        raise ValueError("udp_port_min must not exceed udp_port_max")
    _port_range = (low, high)
    # aioice.ice calls asyncio.get_running_loop().create_datagram_endpoint(...) for host
    # candidates; give that module an asyncio whose loop picks the port.
    if not isinstance(getattr(aioice.ice, "asyncio", None), _AsyncioWithRange):
        setattr(aioice.ice, "asyncio", _AsyncioWithRange("asyncio"))  # noqa: B010


# --- the start-up check ---------------------------------------------------------------


def check() -> None:
    """Every attribute used above, on aioice's real module, classes and objects."""
    require(LIBRARY, BUILT_FOR, aioice.ice, "aioice.ice", ("asyncio",))
    in_fresh_loop(_check_objects)
    for name, wanted in SIGNATURES.items():
        method = _original.get(name, getattr(Connection, name))
        if tuple(inspect.signature(method).parameters) != wanted:
            raise MissingPrivateAttribute(
                LIBRARY, BUILT_FOR, f"Connection.{name}({', '.join(wanted[1:])})"
            )


async def _check_objects() -> None:
    connection = Connection(ice_controlling=True, components=1)
    require(LIBRARY, BUILT_FOR, connection, "Connection", CONNECTION_ATTRIBUTES)
    protocol = StunProtocol(connection)
    # `transport` is declared on the class and set once the socket is open.
    require(LIBRARY, BUILT_FOR, protocol, "StunProtocol", ("transport",))
    remote = Candidate("1", 1, "udp", 1, "192.0.2.1", 9, "host")
    pair = CandidatePair(protocol, remote)
    require(LIBRARY, BUILT_FOR, pair, "CandidatePair", ("protocol", "remote_addr"))
