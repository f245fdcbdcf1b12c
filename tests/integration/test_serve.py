"""`live serve` as a user runs it: its own embedded Redis, workers, signals, logs."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest

from live.settings import PROJECT_ROOT
from tests.conftest import ADMIN_TOKEN, free_port
from tests.redis_server import TestRedis
from tests.serving import serve_env, spawn_serve, wait_healthy

pytestmark = pytest.mark.slow


def redis_pids(data_dir: Path) -> list[int]:
    out = subprocess.run(["pgrep", "-f", f"redis-server.*{data_dir}"], capture_output=True)
    return [int(pid) for pid in out.stdout.split()]


class Served:
    """`live serve` with its embedded Redis under `tmp`, its stderr kept for the asserts."""

    def __init__(
        self, tmp: Path, workers: int = 1, extra_args: Sequence[str] = (), **env: str
    ) -> None:
        self.port = free_port()
        self.data_dir = tmp / "redis"
        self.stderr_path = tmp / "stderr.log"
        self.stderr = self.stderr_path.open("wb")
        environment = serve_env(LIVE_REDIS_EMBEDDED_DIR=str(self.data_dir), **env)
        self.process = spawn_serve(self.port, environment, workers, extra_args, self.stderr)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, timeout_s: float = 30, **client: Any) -> None:
        try:
            wait_healthy(self.base, timeout_s, **client)
        except AssertionError as exc:
            raise AssertionError("server never became healthy:\n" + self.log()) from exc

    def log(self) -> str:
        if not self.stderr.closed:
            self.stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout_s)
        self.stderr.close()
        return code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def wait_gone(data_dir: Path, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not redis_pids(data_dir):
            return True
        time.sleep(0.1)
    return False


def test_serve_runs_its_own_redis_and_stops_it(tmp_path: Path, served: list[Served]) -> None:
    server = Served(tmp_path)
    served.append(server)
    server.wait_healthy()
    assert redis_pids(server.data_dir), "an embedded redis-server should be running"
    assert (server.data_dir / "appendonly").is_dir(), "the append-only file lives under its dir"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    room = httpx.post(
        server.base + "/api/rooms", json={"title": "t", "host_name": "h"}, headers=headers
    ).json()
    httpx.get(f"{server.base}/api/rooms/{room['room_id']}?token={room['host_token']}")
    assert server.stop() == 0
    assert wait_gone(server.data_dir), "redis-server outlived the server"
    log = server.log()
    assert room["host_token"] not in log and ADMIN_TOKEN not in log
    lines = [orjson.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("path") == f"/api/rooms/{room['room_id']}" for line in lines)


def test_redis_and_workers_die_with_a_killed_server(tmp_path: Path, served: list[Served]) -> None:
    server = Served(tmp_path, workers=2)
    served.append(server)
    server.wait_healthy(60)
    children = psutil.Process(server.process.pid).children()
    server.stop(signal.SIGKILL)
    assert wait_gone(server.data_dir), "redis-server outlived a kill -9 of its parent"
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"outlived a kill -9 of live serve: {[p.cmdline() for p in alive]}"


def test_workers_share_one_port_and_metrics_are_summed(
    tmp_path: Path, served: list[Served]
) -> None:
    server = Served(tmp_path, workers=2)
    served.append(server)
    server.wait_healthy(60)
    with httpx.Client(base_url=server.base) as client:
        for _ in range(30):
            # A fresh connection each time, so the kernel spreads them over both workers.
            assert httpx.get(server.base + "/api/rooms").status_code == 200
        text = client.get("/metrics").text
    counted = sum(
        float(m)
        for m in re.findall(r'live_http_requests_total\{[^}]*route="list_rooms"[^}]*\} (\S+)', text)
    )
    assert counted == 30, text[:2000]
    assert server.stop() == 0
    assert wait_gone(server.data_dir)


def failed_start(**env: str) -> str:
    """Run `live serve` expecting it to refuse to start; its stderr."""
    out = subprocess.run(
        [sys.executable, "-m", "live.cli", "serve", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=serve_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    return out.stderr


def test_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    stderr = failed_start(LIVE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert "Redis is unreachable" in stderr
    assert "Traceback" not in stderr


def test_cluster_and_replicated_settings_need_a_redis_url(tmp_path: Path) -> None:
    # The embedded Redis is one server without replicas: neither promise can be kept.
    assert "needs LIVE_REDIS_URL" in failed_start(LIVE_REDIS_MODE="cluster")
    assert "needs LIVE_REDIS_URL" in failed_start(LIVE_COMMERCE_DURABILITY="replicated")


def test_wrong_settings_stop_startup_with_a_message(tmp_path: Path) -> None:
    assert "server.workerz" in failed_start(LIVE_SERVER_WORKERZ="2")


def test_misconfigured_redis_is_refused(tmp_path: Path, redis_server: TestRedis) -> None:
    # The session's test Redis has appendfsync everysec: it cannot promise `always`.
    stderr = failed_start(LIVE_REDIS_URL=redis_server.url, LIVE_COMMERCE_DURABILITY="always")
    assert "appendfsync must be always" in stderr


def self_signed(tmp: Path) -> tuple[Path, Path]:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = tmp / "key.pem", tmp / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_serve_over_https(tmp_path: Path, served: list[Served]) -> None:
    key, cert = self_signed(tmp_path)
    server = Served(tmp_path, extra_args=["--ssl-keyfile", str(key), "--ssl-certfile", str(cert)])
    served.append(server)
    server.base = server.base.replace("http://", "https://")
    # Healthy over TLS, with the certificate verified against the one it was given.
    server.wait_healthy(verify=ssl.create_default_context(cafile=str(cert)))
    assert server.stop() == 0
