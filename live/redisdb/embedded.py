"""The embedded `redis-server`: started by `live serve` when `LIVE_REDIS_URL` is unset.

It runs as a child that the kernel stops when its parent dies (PR_SET_PDEATHSIG), so it
never outlives the server, even after `kill -9`.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from live.paths import data_dir

REDIS_CONF = data_dir("config") / "redis.conf"
MIN_REDIS_MAJOR = 7
_PR_SET_PDEATHSIG = 1
# Set by `live serve` for its worker processes: the pid they must not outlive. (Not LIVE_*:
# those are settings.)
SUPERVISOR_PID_ENV = "_LIVE_SUPERVISOR_PID"
# sun_path holds 108 bytes; stay clear of the edge.
_MAX_UNIX_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """redis-server is missing, too old, or did not start."""


def redis_server_version(binary: str = "redis-server") -> tuple[int, int, int]:
    """The version of the `redis-server` on PATH, or `EmbeddedRedisError`."""
    path = shutil.which(binary)
    if path is None:
        raise EmbeddedRedisError(
            "redis-server not found: install Redis 7 or newer "
            "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out.stdout)
    if not match:
        raise EmbeddedRedisError(f"cannot read the version of {path}: {out.stdout!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (never 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port != 6379:
            return port


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to send this process SIGTERM when its parent, `parent_pid`, dies (no-op
    elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # A parent that died before the request was made sends nothing: we were re-parented
    # already, so stop now as the signal would have made us.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)


class EmbeddedRedis:
    """A `redis-server` child process with its data under `data_dir`."""

    def __init__(self, data_dir: Path, *, appendfsync: str = "everysec") -> None:
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server, wait until it answers PING, and return its URL."""
        major, minor, patch = redis_server_version()
        if major < MIN_REDIS_MAJOR:
            raise EmbeddedRedisError(
                f"redis-server {major}.{minor}.{patch} is too old: live needs Redis 7 or newer"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        socket_path = self.data_dir / "redis.sock"
        args = [
            "redis-server",
            str(REDIS_CONF),
            "--dir",
            str(self.data_dir),
            "--appendfsync",
            self.appendfsync,
        ]
        if len(str(socket_path)) <= _MAX_UNIX_PATH:
            with contextlib.suppress(FileNotFoundError):
                socket_path.unlink()
            args += ["--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
            self.url = f"unix://{socket_path}"
        else:
            port = free_port()
            args += ["--port", str(port)]
            self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )
        self._wait_ready(timeout_s)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        import redis

        deadline = time.monotonic() + timeout_s
        client = redis.Redis.from_url(self.url, socket_timeout=1.0)
        try:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise EmbeddedRedisError(f"redis-server exited at start: {err.strip()}")
                try:
                    if client.ping():
                        # Loading a large append-only file answers PING with LOADING.
                        return
                except redis.exceptions.BusyLoadingError:
                    pass
                except redis.exceptions.ConnectionError:
                    pass
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {timeout_s:.0f}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM lets it flush the append-only file), then reap it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None
