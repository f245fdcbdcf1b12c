"""Prometheus metrics. With several workers, each writes to PROMETHEUS_MULTIPROC_DIR (set by
`live serve` before any worker imports prometheus_client; `Settings.metrics_dir`) and
/metrics sums them. With one worker (`live serve` itself) they stay in memory."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

HTTP_REQUESTS = Counter(
    "live_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "live_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REDIS_ERRORS = Counter("live_redis_errors_total", "Redis commands that failed", ["kind"])
WS_CONNECTIONS = Gauge(
    "live_ws_connections", "Open room channel connections", multiprocess_mode="livesum"
)
WS_FRAMES_SENT = Counter(
    "live_ws_frames_sent_total",
    "Frames of room events (broadcast and personal) handed to room channel connections",
)
ORDERS = Counter("live_orders_total", "Buy attempts by outcome", ["outcome"])
MEDIA_SESSIONS = Gauge(
    "live_media_sessions", "Open WHIP/WHEP sessions", ["role"], multiprocess_mode="livesum"
)
MEDIA_CLOSED = Counter("live_media_sessions_closed_total", "Media sessions closed", ["reason"])
MEDIA_FRAMES = Counter("live_media_frames_total", "Publisher frames forwarded", ["kind"])
# Relay links (live.routing.links): per process ("liveall" keeps each live worker's own value).
MEDIA_RELAY_LINKS = Gauge(
    "live_media_relay_links",
    "Relay links: edge workers subscribed to this process's rooms (origin), rooms this"
    " process pulls from another worker (edge)",
    ["role"],
    multiprocess_mode="liveall",
)
MEDIA_PROCESS_VIEWERS = Gauge(
    "live_media_process_viewers", "WHEP viewers served by this process", multiprocess_mode="liveall"
)
MEDIA_RELAY_FRAMES = Counter(
    "live_media_relay_frames_total", "Frames over relay links", ["direction"]
)
MEDIA_RELAY_DROPPED = Counter(
    "live_media_relay_dropped_total", "Relay link datagrams lost or refused", ["reason"]
)
MEDIA_RELAY_LAG = Histogram(
    "live_media_relay_lag_seconds",
    "Origin's send to the edge's receipt of a relayed frame",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25),
)
RECORDING_PARTS = Counter("live_recording_parts_total", "Replay parts recorded", ["result"])
RECORDED_BYTES = Counter("live_recorded_bytes_total", "Bytes written to replay files")
RECORDING_DROPPED = Counter(
    "live_recording_dropped_frames_total", "Frames left out of a recording (disk behind)"
)
NODE_RELAY_LINKS = Gauge(
    "live_node_relay_links",
    "Relay links between nodes: nodes this process feeds a room (down), rooms this process"
    " pulls from another node as its node's relay (up)",
    ["direction"],
    multiprocess_mode="liveall",
)
NODE_RELAY_FRAMES = Counter(
    "live_node_relay_frames_total", "Frames over relay links between nodes", ["direction"]
)
NODE_RELAY_LAG = Histogram(
    "live_node_relay_lag_seconds",
    "Origin's send to this node's receipt of a frame pulled from another node (clocks by NTP)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5),
)


# Label children looked up once: `labels()` takes a lock and builds a key on every call.
@lru_cache(maxsize=1024)
def http_requests(method: str, route: str, status: str) -> Counter:
    return HTTP_REQUESTS.labels(method, route, status)


@lru_cache(maxsize=256)
def http_latency(route: str) -> Histogram:
    return HTTP_LATENCY.labels(route)


@lru_cache(maxsize=64)
def orders(outcome: str) -> Counter:
    return ORDERS.labels(outcome)


def render(multiprocess: bool) -> tuple[bytes, str]:
    """The metrics text, summed over every worker process when `multiprocess` (workers
    write to `Settings.metrics_dir`, which prometheus_client finds in the environment)."""
    if multiprocess:
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
