"""PURE: nodes as the registry's processes add up to, and where a new room's origin goes.

A node's load is its WHEP viewers plus `ORIGIN_WEIGHT` per room it originates, per
worker: an origin's viewers tend to follow it (the host's own page, early viewers), and a
node with more workers takes more. A new room's origin goes to the least-loaded node;
ties go to the node the request reached (no hop), then by node id. A node being drained
takes no new room.
"""

from __future__ import annotations

from dataclasses import dataclass

from live.routing.nodes import ProcessEntry, Registered

ORIGIN_WEIGHT = 50


@dataclass(frozen=True)
class NodeSummary:
    """One node (a `live serve` and all its workers), for `GET /api/nodes`."""

    node_id: str
    url: str
    workers: int
    rooms: int
    origins: int
    media_viewers: int
    seen_at: int
    processes: tuple[ProcessEntry, ...]
    draining: bool = False

    @property
    def load(self) -> float:
        return (self.media_viewers + ORIGIN_WEIGHT * self.origins) / max(1, self.workers)

    def to_json(self) -> dict[str, object]:
        return {
            "node_id": self.node_id,
            "url": self.url,
            "workers": self.workers,
            "rooms": self.rooms,
            "media_viewers": self.media_viewers,
            "seen_at": self.seen_at,
            "origins": self.origins,
            "draining": self.draining,
            "processes": [
                {
                    "pid": p.pid,
                    "viewers": p.viewers,
                    "rooms": max(p.room_count, len(p.rooms)),
                    "origins": len(p.origins),
                    "seen_at": p.seen_at,
                }
                for p in self.processes
            ],
        }


def summarize(registered: Registered) -> list[NodeSummary]:
    """The registry's live processes grouped into nodes, by node id."""
    by_node: dict[str, list[ProcessEntry]] = {}
    for entry in registered.processes:
        by_node.setdefault(entry.node_id, []).append(entry)
    nodes = []
    for node_id, entries in sorted(by_node.items()):
        rooms = {room for e in entries for room in e.rooms}
        counted = max([len(rooms), *(e.room_count for e in entries)])
        nodes.append(
            NodeSummary(
                node_id=node_id,
                url=next((e.url for e in entries if e.url), ""),
                workers=len(entries),
                rooms=counted,
                origins=len({room for e in entries for room in e.origins}),
                media_viewers=sum(e.viewers for e in entries),
                seen_at=max(e.seen_at for e in entries),
                processes=tuple(sorted(entries, key=lambda e: e.pid)),
                draining=node_id in registered.draining,
            )
        )
    return nodes


def least_loaded(nodes: list[NodeSummary], here: str) -> NodeSummary | None:
    """The node a new room's origin should go to (None: none is known or takes rooms)."""
    usable = [n for n in nodes if (n.url or n.node_id == here) and not n.draining]
    if not usable:
        return None
    return min(usable, key=lambda n: (n.load, n.node_id != here, n.node_id))
