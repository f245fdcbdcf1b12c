"""PURE: how one worker process is named to its siblings (the value of an owner lease).

A worker is reached at its private listener (`url`, loopback, for WHIP and DELETE
forwarded by its node's other workers), at its node's advertise URL (`node_url`, for
requests from other nodes, live.routing.peers) and at its relay link (`relay`, a UDP port
on `[node] relay_host`, for frames, subscriptions and keyframe requests); `node_id` and
`pid` say which process it is, for `GET /api/rooms/{id}/media`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class WorkerAddress:
    url: str
    relay: tuple[str, int] | None = None
    node_id: str = ""
    pid: int = 0
    node_url: str = ""

    def encode(self) -> str:
        relay = f"{self.relay[0]}:{self.relay[1]}" if self.relay else ""
        fields = {"url": self.url, "relay": relay, "node": self.node_id, "pid": self.pid}
        if self.node_url:
            fields["nurl"] = self.node_url
        return orjson.dumps(fields).decode()

    @classmethod
    def parse(cls, text: str) -> WorkerAddress:
        """From `encode`; a bare URL (a lease written before relay links) has no link."""
        if not text.startswith("{"):
            return cls(text)
        try:
            raw = orjson.loads(text)
            host, _, port = str(raw.get("relay", "")).rpartition(":")
            relay = (host, int(port)) if host and port.isdigit() else None
            return cls(
                str(raw["url"]),
                relay,
                str(raw.get("node", "")),
                int(raw.get("pid", 0)),
                str(raw.get("nurl", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return cls("")


NODE_ID = re.compile(r"[A-Za-z0-9._-]{1,63}")
_BASE_LEN = 17


def node_name(configured: str, hostname: str) -> str:
    """This node's id: `[node] id` (which must fit `NODE_ID`), else the host name made to."""
    if configured:
        if not NODE_ID.fullmatch(configured):
            raise ValueError(f"[node] id {configured!r}: use 1-63 letters, digits, '.', '_', '-'")
        return configured
    return re.sub(r"[^A-Za-z0-9._-]", "-", hostname)[:63] or "node"


def viewer_session_id(listener_port: int, random_hex: str, node_id: str = "") -> str:
    """A WHEP session id that names the process holding it: "v", the port of that
    process's private listener (4 hex digits), 12 random hex digits, then "-" and its
    node's id. A DELETE landing on another worker, or another node, is forwarded there."""
    base = f"v{listener_port:04x}{random_hex[:12]}"
    return f"{base}-{node_id}" if node_id else base


def viewer_session_port(session_id: str) -> int | None:
    """The listener port in a WHEP session id, or None when it is not one of ours."""
    if viewer_session_node(session_id) is None or not session_id.startswith("v"):
        return None
    try:
        port = int(session_id[1:5], 16)
    except ValueError:
        return None
    return port or None


def viewer_session_node(session_id: str) -> str | None:
    """The node id in a WHEP session id ("" for an id without one), None when malformed."""
    if len(session_id) == _BASE_LEN:
        return ""
    sep, node_id = session_id[_BASE_LEN : _BASE_LEN + 1], session_id[_BASE_LEN + 1 :]
    if sep != "-" or not NODE_ID.fullmatch(node_id):
        return None
    return node_id


def port_of(url: str) -> int:
    """The port of a private listener's URL (`http://127.0.0.1:<port>`)."""
    return int(url.rsplit(":", 1)[1])
