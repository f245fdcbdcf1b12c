"""Which remote ICE addresses the server may contact, and the cap per connection."""

from __future__ import annotations

import pytest
from aioice import Candidate, Connection

from live.media import aioice_private
from live.media.candidates import CandidatePolicy, refusal

NEVER = {
    "127.0.0.1": "loopback",
    "127.0.0.2": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "64:ff9b::a9fe:a9fe": "cloud metadata",  # 169.254.169.254 through NAT64
    "169.254.10.1": "link-local",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "224.0.0.251": "multicast or broadcast",
    "ff02::1": "multicast or broadcast",
    "255.255.255.255": "multicast or broadcast",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "printer.local": "not an IP address",
}
PRIVATE = ["10.1.2.3", "172.16.0.9", "192.168.1.20", "100.64.0.1", "fd00::2"]
PUBLIC = ["8.8.8.8", "2001:4860:4860::8888", "192.0.2.2", "203.0.113.7"]


@pytest.mark.parametrize("host", list(NEVER))
def test_never_contacted_whatever_the_settings(host: str) -> None:
    for allow_private in (True, False):
        assert refusal(host, CandidatePolicy(allow_private=allow_private)) == NEVER[host]


@pytest.mark.parametrize("host", PRIVATE)
def test_private_ranges_follow_the_setting(host: str) -> None:
    assert refusal(host, CandidatePolicy(allow_private=True)) is None
    assert refusal(host, CandidatePolicy(allow_private=False)) == "private"


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_are_allowed(host: str) -> None:
    assert refusal(host, CandidatePolicy(allow_private=False)) is None


def _host(n: int, host: str) -> Candidate:
    return Candidate(str(n), 1, "udp", 1000 + n, host, 9000 + n, "host")


async def test_a_connection_takes_at_most_the_cap_and_no_refused_address() -> None:
    aioice_private.filter_remote_candidates(allow_private=False, max_per_connection=5)
    connection = Connection(ice_controlling=False, components=1)
    try:
        await connection.add_remote_candidate(_host(0, "127.0.0.1"))
        await connection.add_remote_candidate(_host(1, "10.0.0.1"))
        for n in range(2, 30):
            await connection.add_remote_candidate(_host(n, f"203.0.113.{n}"))
        hosts = [c.host for c in connection.remote_candidates]
        # Refused candidates count towards the cap: the cap bounds the work an offer costs.
        assert hosts == ["203.0.113.2", "203.0.113.3", "203.0.113.4"]
        await connection.add_remote_candidate(None)  # end-of-candidates still passes
    finally:
        await connection.close()
        aioice_private.filter_remote_candidates(allow_private=True, max_per_connection=20)
