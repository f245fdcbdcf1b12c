"""PURE: room channel frames, event delivery latency and `seq` continuity."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

Event = dict[str, Any]

# Events that carry no room `seq` (latest-value and personal ones, and the snapshot itself).
UNSEQUENCED = frozenset({"snapshot", "stock", "viewers", "likes", "error", "order", "pong"})


class FrameError(ValueError):
    """A frame that is not a non-empty JSON array of events with a `type`."""


def parse_frame(data: str | bytes) -> list[Event]:
    """The events of one server frame, oldest first."""
    try:
        events = json.loads(data)
    except ValueError as exc:
        raise FrameError(f"not JSON: {exc}") from exc
    if not isinstance(events, list) or not events:
        raise FrameError("a frame must be a non-empty JSON array")
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise FrameError("every event must be an object with a string `type`")
    return events


def delivery_latency_ms(event: Event, received_ms: float) -> float | None:
    """Receipt time minus the event's server `ts`; None when it has no usable `ts`.

    Clocks of the loader and the server differ a little, so a negative value reads as 0.
    """
    ts = event.get("ts")
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    return max(0.0, received_ms - ts)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Gap:
    """Durable events `expected` .. `got - 1` never arrived."""

    expected: int
    got: int

    @property
    def missing(self) -> int:
        return self.got - self.expected

    def __str__(self) -> str:
        return f"seq gap: expected {self.expected}, got {self.got} ({self.missing} missed)"


@dataclass(frozen=True)
class Repeat:
    """An event at or below the last `seq` seen: a duplicate or out of order."""

    expected: int
    got: int

    def __str__(self) -> str:
        return f"seq repeat: expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class Resume:
    """What a snapshot after a reconnect said about the events missed meanwhile."""

    recovered: bool
    epoch_changed: bool

    @property
    def complete(self) -> bool:
        return self.recovered and not self.epoch_changed


class SeqTracker:
    """One client's view of a room's durable `seq`, across reconnects."""

    def __init__(self) -> None:
        self.last_seq: int | None = None
        self.epoch: Any = None

    def resume_params(self) -> dict[str, str]:
        """The `since` and `epoch` query parameters of the next connection."""
        if self.last_seq is None or self.epoch is None:
            return {}
        return {"since": str(self.last_seq), "epoch": str(self.epoch)}

    def on_snapshot(self, snapshot: Event) -> Resume | None:
        """Take a snapshot's `seq`/`epoch`; after a reconnect, say whether it recovered."""
        seq = _int(snapshot.get("seq"))
        epoch = snapshot.get("epoch")
        resumed = self.last_seq is not None
        epoch_changed = resumed and str(epoch) != str(self.epoch)
        recovered = bool(snapshot.get("recovered"))
        # A recovered snapshot is followed by the missed events from last_seq + 1 on.
        if not (resumed and recovered and not epoch_changed):
            self.last_seq = seq
        self.epoch = epoch
        return Resume(recovered, epoch_changed) if resumed else None

    def on_event(self, event: Event) -> Gap | Repeat | None:
        """Check one event's `seq` against the last one seen."""
        if event.get("type") in UNSEQUENCED:
            return None
        seq = _int(event.get("seq"))
        if seq is None:
            return None
        if self.last_seq is None:
            self.last_seq = seq
            return None
        expected = self.last_seq + 1
        if seq < expected:
            return Repeat(expected, seq)
        self.last_seq = seq
        return Gap(expected, seq) if seq > expected else None


def sales_offered(event: Event) -> list[Event]:
    """Sales an event announces as open to buy (snapshot, `sale_open`, `sale_reopened`)."""
    kind = event.get("type")
    if kind == "snapshot":
        sales = event.get("sales") or []
        listed: Iterable[Any] = sales.values() if isinstance(sales, dict) else sales
        return [s for s in listed if isinstance(s, dict) and s.get("status") == "open"]
    if kind in ("sale_open", "sale_reopened"):
        sale = event.get("sale")
        if isinstance(sale, dict) and "sale_id" in sale:
            return [sale]
        if isinstance(event.get("sale_id"), str):
            return [{"sale_id": event["sale_id"]}]
    return []


def channel_url(base_url: str, room_id: str, params: dict[str, str]) -> str:
    """The room channel's websocket URL on the deployment at `base_url`."""
    scheme, _, rest = base_url.rstrip("/").partition("://")
    ws_scheme = "wss" if scheme == "https" else "ws"
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{ws_scheme}://{rest}/ws/rooms/{quote(room_id, safe='')}" + (
        f"?{query}" if query else ""
    )
