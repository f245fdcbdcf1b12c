"""Operations: /healthz, /metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live import metrics
from live.api.http import Endpoint, json_response
from live.auth import require_admin
from live.http_input import RequestReader, in_networks
from live.redisdb.client import Redis, ping
from live.redisdb.errors import RedisError


class OpsApi:
    """Health and metrics; `multiprocess_metrics` when workers share a metrics dir;
    `metrics_networks` may read /metrics without the admin token."""

    def __init__(
        self,
        redis: Redis,
        reader: RequestReader,
        metrics_networks: tuple[str, ...],
        *,
        multiprocess_metrics: bool,
    ) -> None:
        self._redis = redis
        self._reader = reader
        self._metrics_networks = metrics_networks
        self._multiprocess = multiprocess_metrics

    async def healthz(self, request: Request) -> Response:
        try:
            await ping(self._redis)
        except (RedisError, OSError):
            metrics.REDIS_ERRORS.labels("ping").inc()
            return json_response(
                {
                    "status": "unavailable",
                    "redis": False,
                    "error": {"code": "unavailable", "message": "Redis does not answer"},
                },
                503,
            )
        return json_response({"status": "ok", "redis": True})

    async def metrics_text(self, request: Request) -> Response:
        """Only from `[server] metrics_networks` (loopback by default) or with the admin
        token: the figures show traffic, orders and internals an outsider has no business
        reading."""
        if not in_networks(self._reader.client_ip(request), self._metrics_networks):
            require_admin(self._reader.identity(request))
        body, content_type = metrics.render(self._multiprocess)
        return Response(body, media_type=content_type)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/healthz",
                self.healthz,
                "200 when Redis answers, 503 otherwise",
                responses={200: "ok", 503: "unavailable"},
            ),
            Endpoint(
                "GET",
                "/metrics",
                self.metrics_text,
                "Prometheus metrics summed over all workers",
                who="[server] metrics_networks, or admin",
                responses={200: "Prometheus text", 401: "unauthorized", 403: "forbidden"},
                content_type="text/plain",
            ),
        ]
