"""Remote ICE candidates the server must never contact (issue 19, finding 3): real aiortc
peers, real UDP listeners, a real mDNS answer."""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aioice
import pytest
from aioice import mdns
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from tests.conftest import LiveServer
from tests.media.peers import CounterTrack
from tests.media.test_signalling import SDP_HEADERS, offer_sdp

# Above any real host candidate (about 2.1e9), so that the server checks these first.
TOP_PRIORITY = 4294967000


@dataclass
class Listener(asyncio.DatagramProtocol):
    """A UDP port that records what arrives (the server's STUN checks, if any)."""

    host: str
    port: int = 0
    received: list[bytes] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        self.arrived.set()


@pytest.fixture
async def listeners() -> AsyncIterator[dict[str, Listener]]:
    """Two loopback listeners, one for an mDNS name, and a decoy on this machine's own
    (allowed) address."""
    own = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    if not own:
        pytest.skip("no non-loopback IPv4 address to compare with")
    hosts = {"loopback": "127.0.0.1", "loopback2": "127.0.0.2", "mdns": "127.0.0.1"}
    hosts["decoy"] = own[0]
    loop = asyncio.get_running_loop()
    made: dict[str, Listener] = {}
    transports = []
    for name, host in hosts.items():
        transport, listener = await loop.create_datagram_endpoint(
            functools.partial(Listener, host), local_addr=(host, 0)
        )
        listener.port = transport.get_extra_info("sockname")[1]
        made[name] = listener
        transports.append(transport)
    yield made
    for transport in transports:
        transport.close()


def candidate(foundation: str, priority: int, host: str, port: int) -> str:
    return f"a=candidate:{foundation} 1 udp {priority} {host} {port} typ host"


def with_candidates(sdp: str, extra: list[str], keep_own: bool = True) -> str:
    """The offer with `extra` candidate lines at the top of its first media section."""
    lines = [line for line in sdp.split("\r\n") if keep_own or not line.startswith("a=candidate")]
    first_media = next(i for i, line in enumerate(lines) if line.startswith("m="))
    at = next(i for i in range(first_media + 1, len(lines)) if lines[i].startswith("a="))
    return "\r\n".join(lines[:at] + extra + lines[at:])


async def wait_for(condition: asyncio.Event, within: float = 20.0) -> None:
    await asyncio.wait_for(condition.wait(), within)


class Refusals(logging.Handler):
    """The server's "remote candidate refused" records, by the candidate's name."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_candidate: dict[str, logging.LogRecord] = {}
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "remote candidate refused":
            self.by_candidate[record.__dict__["candidate"]] = record
            self.changed.set()

    async def of(self, candidate: str) -> logging.LogRecord:
        while candidate not in self.by_candidate:
            self.changed.clear()
            await wait_for(self.changed)
        return self.by_candidate[candidate]


@pytest.fixture
def refusals(caplog: pytest.LogCaptureFixture) -> Iterator[Refusals]:
    caplog.set_level(logging.DEBUG, logger="live.media")
    handler = Refusals()
    logger = logging.getLogger("live.media")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_loopback_and_mdns_loopback_candidates_are_never_contacted(
    live_server: LiveServer, listeners: dict[str, Listener], refusals: Refusals
) -> None:
    # A .local name that this machine's mDNS answers with 127.0.0.1, as a browser's would.
    name = f"{uuid.uuid4()}.local"
    responder = await mdns.create_mdns_protocol()
    await responder.publish(name, listeners["mdns"].host)
    room = await live_server.new_room()
    bad = [
        candidate("1", TOP_PRIORITY, "127.0.0.1", listeners["loopback"].port),
        candidate("2", TOP_PRIORITY - 1, "127.0.0.2", listeners["loopback2"].port),
        candidate("3", TOP_PRIORITY - 2, name, listeners["mdns"].port),
    ]
    decoy = candidate("4", TOP_PRIORITY - 3, listeners["decoy"].host, listeners["decoy"].port)
    try:
        # An attacker's offer: nobody answers the server's checks, so it works through
        # every pair, one by one, in priority order.
        offer = with_candidates(await offer_sdp("video"), [*bad, decoy], keep_own=False)
        url = f"/api/rooms/{room['room_id']}/whep"
        answer = await live_server.http.post(url, content=offer, headers=SDP_HEADERS)
        assert answer.status_code == 201, answer.text
        # Once the decoy, below the others, has had its check, they would have had theirs.
        await wait_for(listeners["decoy"].arrived)
        assert listeners["loopback"].received == []
        assert listeners["loopback2"].received == []
        # The mDNS name was resolved (to loopback), then refused: never contacted.
        record = await refusals.of(name)
        assert record.__dict__["address"] == "127.0.0.1"
        assert record.__dict__["why"] == "loopback"
        assert listeners["mdns"].received == []
    finally:
        await responder.close()


async def test_a_publisher_with_valid_candidates_still_connects(
    live_server: LiveServer, listeners: dict[str, Listener]
) -> None:
    room = await live_server.new_room()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def changed() -> None:
        if pc.connectionState == "connected":
            connected.set()

    try:
        pc.addTransceiver(CounterTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        bad = [
            candidate("1", TOP_PRIORITY, "127.0.0.1", listeners["loopback"].port),
            candidate("2", TOP_PRIORITY - 1, "169.254.169.254", 80),
        ]
        offer = with_candidates(pc.localDescription.sdp, bad)
        answer = await live_server.as_user(
            room["host_token"],
            "POST",
            f"/api/rooms/{room['room_id']}/whip",
            content=offer,
            headers=SDP_HEADERS,
        )
        assert answer.status_code == 201, answer.text
        await pc.setRemoteDescription(RTCSessionDescription(answer.text, "answer"))
        await wait_for(connected)
        assert listeners["loopback"].received == []
    finally:
        await pc.close()


async def test_an_offer_whose_candidates_are_all_refused_is_still_answered(
    live_server: LiveServer, listeners: dict[str, Listener]
) -> None:
    room = await live_server.new_room()
    only_bad = [
        candidate("1", TOP_PRIORITY, "127.0.0.1", listeners["loopback"].port),
        candidate("2", TOP_PRIORITY, "169.254.169.254", 80),
        candidate("3", TOP_PRIORITY, "fd00:ec2::254", 80),
        candidate("4", TOP_PRIORITY, "224.0.0.251", 5353),
    ]
    offer = with_candidates(await offer_sdp("video", "audio"), only_bad, keep_own=False)
    url = f"/api/rooms/{room['room_id']}/whep"
    answer = await live_server.http.post(url, content=offer, headers=SDP_HEADERS)
    assert answer.status_code == 201, answer.text
    assert answer.text.startswith("v=0")
