"""PURE: which remote ICE addresses the server may send to.

An offer names the addresses the server will send STUN checks (and then media) to, so
without a rule anyone could make it probe its own loopback services, the local network,
or a cloud machine's metadata service. The rule is applied to the address aioice will
really use, after a `.local` mDNS name was resolved (live.media.aioice_private).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata and host services reachable from inside a VM. 169.254.169.254 (AWS, GCP,
# Azure, OpenStack, DigitalOcean, Oracle) is link-local and refused as such too.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS Route 53 resolver over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure host services (WireServer)
        "192.0.0.192",  # Oracle Cloud (classic)
    )
)
# Allowed only with [media] allow_private_candidates: RFC 1918, shared address space
# (RFC 6598, carrier NAT), unique local IPv6 (RFC 4193).
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
# "This network" (0.0.0.0/8 reaches the host itself on Linux) and the broadcast address.
THIS_HOST = ipaddress.ip_network("0.0.0.0/8")
BROADCAST = ipaddress.ip_address("255.255.255.255")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class CandidatePolicy:
    """`[media] allow_private_candidates` and `max_remote_candidates`."""

    allow_private: bool = True
    max_remote: int = 20


def refusal(host: str, policy: CandidatePolicy) -> str | None:
    """Why the server must not send to `host`, or None when it may."""
    try:
        address: Address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        # The IPv4 address inside an IPv4-mapped or NAT64 address is where packets go.
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address in NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in METADATA:
        return "cloud metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast or address == BROADCAST:
        return "multicast or broadcast"
    if address.is_unspecified or address in THIS_HOST:
        return "unspecified"
    if not policy.allow_private and any(address in net for net in PRIVATE):
        return "private"
    return None
