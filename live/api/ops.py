"""Operations: /healthz, /metrics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live import metrics
from live.api.http import Endpoint, json_response, services
from live.redisdb.client import ping
from live.redisdb.errors import RedisError


async def healthz(request: Request) -> Response:
    svc = services(request)
    try:
        await ping(svc.redis)
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


async def metrics_text(request: Request) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/healthz",
        healthz,
        "200 when Redis answers, 503 otherwise",
        responses={200: "ok", 503: "unavailable"},
    ),
    Endpoint(
        "GET",
        "/metrics",
        metrics_text,
        "Prometheus metrics summed over all workers",
        responses={200: "Prometheus text"},
        content_type="text/plain",
    ),
]
