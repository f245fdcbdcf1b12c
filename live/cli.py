"""`live serve` and `live demo`."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from live.app import LiveApp, create_app
from live.logs import configure_logging
from live.paths import base_dir
from live.private_attrs import MissingPrivateAttribute
from live.private_checks import check_private_attributes
from live.redisdb.client import RedisCheckError, check_server, connect
from live.redisdb.embedded import (
    SUPERVISOR_PID_ENV,
    EmbeddedRedis,
    EmbeddedRedisError,
    die_with_parent,
)
from live.security.admin_token import weakness
from live.settings import (
    INTERNAL_SECRET_ENV,
    METRICS_DIR_ENV,
    Settings,
    SettingsError,
    load_settings,
)
from live.uvicorn_options import uvicorn_options

VAR_DIR = base_dir() / "var"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="live", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the server"),
        ("demo", "run the server with a demo room and print its URLs"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--host", default=None)
        sub.add_argument("--port", type=int, default=None)
        sub.add_argument("--workers", type=int, default=None)
        sub.add_argument("--ssl-keyfile", default=None, help="serve HTTPS with this key")
        sub.add_argument("--ssl-certfile", default=None, help="and this certificate")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.exit(f"live: {exc}")
    try:
        check_private_attributes()
    except MissingPrivateAttribute as exc:
        sys.exit(f"live: {exc}")
    configure_logging(settings.logging.level, settings.logging.format)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    workers = args.workers or settings.server.workers
    on_ready = _seed_demo if args.command == "demo" else None
    if bool(args.ssl_keyfile) != bool(args.ssl_certfile):
        sys.exit("live: --ssl-keyfile and --ssl-certfile go together")
    tls = (args.ssl_keyfile, args.ssl_certfile) if args.ssl_keyfile else None
    sys.exit(serve(settings, host, port, workers, on_ready=on_ready, tls=tls))


def admin_token() -> str:
    """LIVE_ADMIN_TOKEN, or one generated once and kept in var/admin_token."""
    token = os.environ.get("LIVE_ADMIN_TOKEN")
    if token:
        return token
    path = VAR_DIR / "admin_token"
    if path.exists() and path.read_text().strip():
        token = path.read_text().strip()
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        while weakness(token) is not None:  # a random one is weak about once in 10,000
            token = secrets.token_urlsafe(32)
        path.write_text(token + "\n")
        path.chmod(0o600)
    os.environ["LIVE_ADMIN_TOKEN"] = token
    print(f"live: admin token in {path}", file=sys.stderr)
    return token


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    *,
    on_ready: Any = None,
    tls: tuple[str, str] | None = None,
) -> int:
    import uvicorn

    token = admin_token()
    problem = weakness(token)
    if problem is not None:
        print(
            f"live: LIVE_ADMIN_TOKEN is too weak ({problem}); unset it to have one generated,"
            " or use 32+ random characters (python -c 'import secrets;"
            " print(secrets.token_urlsafe(32))')",
            file=sys.stderr,
        )
        return 2
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url and settings.redis.mode == "cluster":
        print("live: [redis] mode = cluster needs LIVE_REDIS_URL (any node)", file=sys.stderr)
        return 1
    if not settings.redis_url and settings.commerce.durability == "replicated":
        print(
            "live: durability = replicated needs LIVE_REDIS_URL (the embedded one has no replicas)",
            file=sys.stderr,
        )
        return 1
    if not settings.redis_url:
        embedded = EmbeddedRedis(
            Path(settings.redis.embedded_dir)
            if Path(settings.redis.embedded_dir).is_absolute()
            else base_dir() / settings.redis.embedded_dir,
            appendfsync="always" if settings.commerce.durability == "always" else "everysec",
        )
        try:
            embedded_url = embedded.start()
        except EmbeddedRedisError as exc:
            print(f"live: {exc}", file=sys.stderr)
            return 1
        # The workers find the embedded Redis through the variable a user would set.
        os.environ["LIVE_REDIS_URL"] = embedded_url
    try:
        asyncio.run(_check_redis(settings, os.environ["LIVE_REDIS_URL"]))
    except RedisCheckError as exc:
        print(f"live: {exc}", file=sys.stderr)
        if embedded is not None:
            embedded.stop()
        return 1
    _prepare_metrics_dir(workers)
    # Workers forward media requests to each other over loopback with this secret.
    if not os.environ.get(INTERNAL_SECRET_ENV):
        # Generated once here, inherited by every worker (as `Settings.internal_secret`).
        os.environ[INTERNAL_SECRET_ENV] = secrets.token_urlsafe(32)
    if workers > 1:
        os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
    # uvicorn re-raises SIGTERM/SIGINT after draining; these handlers turn that into a
    # normal exit, so the embedded Redis below is stopped in order and the exit code is 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_after_drain)
    if on_ready is not None:
        scheme = "https" if tls else "http"
        base = settings.server.public_url or f"{scheme}://{host}:{port}"
        threading.Thread(target=on_ready, args=(base, token), daemon=True).start()
    try:
        uvicorn.run(
            "live.cli:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers if workers > 1 else None,
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            lifespan="on",
            log_config=None,
            access_log=False,
            # X-Forwarded-For is believed only from [server] trusted_proxies (live.api.http);
            # uvicorn's own rewrite would trust 127.0.0.1 blindly.
            proxy_headers=False,
            timeout_graceful_shutdown=int(settings.server.shutdown_grace_s),
            # With several workers, one that does not answer the supervisor's ping this
            # long is killed and replaced (a wedged event loop, or a stopped process).
            timeout_worker_healthcheck=int(settings.server.worker_healthcheck_s),
            **uvicorn_options(settings),
            ssl_keyfile=tls[0] if tls else None,
            ssl_certfile=tls[1] if tls else None,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def app_from_environment() -> LiveApp:
    """The factory `live serve` hands to uvicorn workers: settings from the environment."""
    # A worker must not outlive `live serve` (it would hold the port after a kill -9). With
    # one worker the app runs in `live serve` itself, which has no supervisor to follow.
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if supervisor:
        die_with_parent(int(supervisor))
    settings = load_settings()
    # `live serve` checked already; a worker checks again, as its environment may differ.
    try:
        check_private_attributes()
    except MissingPrivateAttribute as exc:
        sys.exit(f"live: {exc}")
    configure_logging(settings.logging.level, settings.logging.format)
    # `live serve` points LIVE_REDIS_URL at the embedded Redis before starting workers.
    return create_app(settings)


async def _check_redis(settings: Settings, url: str) -> None:
    """Fail fast, with one clear line, when Redis cannot serve us (the workers check too)."""
    client = connect(url, settings)
    try:
        await check_server(client, settings)
    finally:
        await client.aclose()


def _exit_after_drain(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _prepare_metrics_dir(workers: int) -> None:
    # Every worker writes its counters here; /metrics sums them. A fresh dir per start.
    path = VAR_DIR / "metrics" / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[METRICS_DIR_ENV] = str(path)


DEMO_PRODUCTS = [
    {
        "sku": "demo-linen-shirt",
        "title": "Washed linen shirt, oat",
        "price_cents": 32900,
        "currency": "CNY",
        "image_url": "/static/img/linen-shirt.svg",
        "description": "Stone-washed European linen, relaxed cut. Softens with every wash.",
    },
    {
        "sku": "demo-ceramic-mug",
        "title": "Hand-thrown ceramic mug",
        "price_cents": 12800,
        "currency": "CNY",
        "image_url": "/static/img/ceramic-mug.svg",
        "description": "Made in Jingdezhen; each glaze is a little different. 350 ml.",
    },
    {
        "sku": "demo-silk-scarf",
        "title": "Mulberry silk scarf",
        "price_cents": 45900,
        "currency": "CNY",
        "image_url": "/static/img/silk-scarf.svg",
        "description": "19 momme silk twill with hand-rolled edges.",
    },
]


def _api(base: str, path: str, token: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path,
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, orjson.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read() or b"{}")


def _wait_healthy(base: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def _seed_demo(base: str, token: str) -> None:
    """Create the demo products and a room once the server answers; print the URLs."""
    if not _wait_healthy(base, 60):
        print("live: the server did not become healthy; no demo room", file=sys.stderr)
        return
    for product in DEMO_PRODUCTS:
        _api(base, "/api/products", token, product)
    status, room = _api(
        base, "/api/rooms", token, {"title": "Slow fashion with Lin", "host_name": "Lin"}
    )
    if status != 201:
        print(f"live: could not create the demo room: {room}", file=sys.stderr)
        return
    for product in DEMO_PRODUCTS:
        _api(base, f"/api/rooms/{room['room_id']}/products", room["host_token"], product)
    print(
        "\n"
        f"  live is running at {base}\n"
        f"  host studio: {room['host_url']}\n"
        f"  viewer page: {room['viewer_url']}\n"
        f"  admin token: in var/admin_token (Ctrl-C stops the server)\n",
        flush=True,
    )


if __name__ == "__main__":
    main()
