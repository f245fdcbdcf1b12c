"""Signalling between nodes: a WHIP or DELETE sent to the node that holds the session.

A node reaches another at its advertise URL (`[node] advertise_url`), on the one path
`PATH` of the public server. The request and its answer are sealed with the nodes'
secret (live.routing.sealed: AES-GCM, the answer bound to its request), so whoever lacks
the secret can neither read nor make nor alter one, whatever token they hold; a request
carries its time and is taken once (its nonce kept in Redis for a minute), so one
replayed later is refused. The receiving node runs it through its own router
(live.routing.media), which may forward it once more inside the node.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import httpx
import orjson

from live.clock import Clock
from live.routing.forward import OwnerUnreachable
from live.routing.nodes import NodeRegistry
from live.routing.sealed import RequestSealer, SealError, is_fresh

PATH = "/internal/node/media"
REQUEST = b"node media request"
TIMEOUT_S = 15.0
MAX_BODY_BYTES = 256 * 1024
# A request is forwarded between nodes at most this often (a claim that moved meanwhile).
MAX_HOPS = 2


def _answer_purpose(nonce: bytes) -> bytes:
    return b"node media answer " + nonce


@dataclass(frozen=True)
class NodeCall:
    """What one node asks another: `op` "whip" (an offer), "end" (a session's DELETE) or
    "end_room". `client`: the caller's address on a WHIP, counted by the origin's
    `[media] max_sessions_per_ip` (trusted because the call is sealed)."""

    op: str
    room_id: str
    sent_ms: int
    offer: str = ""
    live: bool = False
    role: str = ""
    session_id: str = ""
    hops: int = 0
    client: str = ""

    @classmethod
    def parse(cls, raw: object) -> NodeCall:
        if not isinstance(raw, dict):
            raise SealError("not a node call")
        try:
            call = cls(**raw)
        except TypeError as exc:
            raise SealError("not a node call") from exc
        if not isinstance(call.op, str) or not isinstance(call.room_id, str):
            raise SealError("not a node call")
        return call


@dataclass(frozen=True)
class PeerAnswer:
    """The other node's answer: what its media (or its router) replied."""

    status: int
    body: str = ""
    session_id: str = ""
    worker: str = ""


class NodePeers:
    def __init__(
        self,
        sealer: RequestSealer,
        registry: NodeRegistry,
        clock: Clock,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self._sealer = sealer
        self._registry = registry
        self._clock = clock
        self._client = httpx.AsyncClient(timeout=timeout_s, trust_env=False)

    # --- sending ------------------------------------------------------------------
    async def call(self, node_url: str, call: NodeCall) -> PeerAnswer:
        """`call` at the node at `node_url`; `OwnerUnreachable` when it does not answer
        (down, refusing, or not one of ours)."""
        nonce, sealed = self._sealer.seal(REQUEST, orjson.dumps(asdict(call)))
        try:
            answer = await self._client.post(
                node_url.rstrip("/") + PATH,
                content=sealed,
                headers={"content-type": "application/octet-stream"},
            )
        except httpx.HTTPError as exc:
            raise OwnerUnreachable(f"{node_url}: {exc!r}") from exc
        if answer.status_code != 200:
            raise OwnerUnreachable(f"{node_url}: answered {answer.status_code}")
        try:
            _, plain = self._sealer.open(_answer_purpose(nonce), answer.content)
            raw = orjson.loads(plain)
            return PeerAnswer(
                int(raw["status"]),
                str(raw.get("body", "")),
                str(raw.get("session_id", "")),
                str(raw.get("worker", "")),
            )
        except (SealError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise OwnerUnreachable(f"{node_url}: an answer that is not ours") from exc

    def new_call(
        self,
        op: str,
        room_id: str,
        *,
        offer: str = "",
        live: bool = False,
        role: str = "",
        session_id: str = "",
        hops: int = 0,
        client: str = "",
    ) -> NodeCall:
        return NodeCall(
            op, room_id, self._clock.now_ms(), offer, live, role, session_id, hops, client
        )

    async def url_of(self, node_id: str, stale_ms: int) -> str | None:
        """The advertise URL of a live node, from the registry."""
        for entry in (await self._registry.processes(stale_ms)).processes:
            if entry.node_id == node_id and entry.url:
                return entry.url
        return None

    # --- receiving ---------------------------------------------------------------
    async def receive(self, body: bytes) -> tuple[bytes, NodeCall]:
        """(nonce, call) of a request from another node; `SealError` when it is not
        sealed with our secret, is stale, or was taken before."""
        if len(body) > MAX_BODY_BYTES:
            raise SealError("request too large")
        nonce, plain = self._sealer.open(REQUEST, body)
        try:
            call = NodeCall.parse(orjson.loads(plain))
        except orjson.JSONDecodeError as exc:
            raise SealError("not a node call") from exc
        if not is_fresh(call.sent_ms, self._clock.now_ms()):
            raise SealError("a stale request")
        if not await self._registry.first_use(nonce):
            raise SealError("a replayed request")
        return nonce, call

    def seal_answer(self, nonce: bytes, answer: PeerAnswer) -> bytes:
        return self._sealer.seal(_answer_purpose(nonce), orjson.dumps(asdict(answer)))[1]

    async def aclose(self) -> None:
        await self._client.aclose()
