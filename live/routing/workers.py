"""PURE: how one worker process is named to its siblings (the value of an owner lease).

A worker is reached at its private listener (`url`, for forwarded WHIP and DELETE) and at
its relay link (`relay`, a loopback UDP port, for frames, subscriptions and keyframe
requests); `node_id` and `pid` say which process it is, for `GET /api/rooms/{id}/media`.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True)
class WorkerAddress:
    url: str
    relay: tuple[str, int] | None = None
    node_id: str = ""
    pid: int = 0

    def encode(self) -> str:
        relay = f"{self.relay[0]}:{self.relay[1]}" if self.relay else ""
        return orjson.dumps(
            {"url": self.url, "relay": relay, "node": self.node_id, "pid": self.pid}
        ).decode()

    @classmethod
    def parse(cls, text: str) -> WorkerAddress:
        """From `encode`; a bare URL (a lease written before relay links) has no link."""
        if not text.startswith("{"):
            return cls(text)
        try:
            raw = orjson.loads(text)
            host, _, port = str(raw.get("relay", "")).rpartition(":")
            relay = (host, int(port)) if host and port.isdigit() else None
            return cls(str(raw["url"]), relay, str(raw.get("node", "")), int(raw.get("pid", 0)))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return cls("")


def viewer_session_id(listener_port: int, random_hex: str) -> str:
    """A WHEP session id that names the process holding it: "v", the port of that
    process's private listener (4 hex digits), 12 random hex digits. A DELETE landing on
    another worker is forwarded there."""
    return f"v{listener_port:04x}{random_hex[:12]}"


def viewer_session_port(session_id: str) -> int | None:
    """The listener port in a WHEP session id, or None when it is not one of ours."""
    if len(session_id) != 17 or not session_id.startswith("v"):
        return None
    try:
        port = int(session_id[1:5], 16)
    except ValueError:
        return None
    return port or None


def port_of(url: str) -> int:
    """The port of a private listener's URL (`http://127.0.0.1:<port>`)."""
    return int(url.rsplit(":", 1)[1])
