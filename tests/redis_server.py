"""A real redis-server for the test session, on a free port, stopped at the end."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from live.redisdb.embedded import EmbeddedRedis


class TestRedis:
    """Wraps the embedded server with a temporary data dir (append-only file on)."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, appendfsync: str = "everysec") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="live-test-redis-")
        self.server = EmbeddedRedis(Path(self._tmp.name), appendfsync=appendfsync)
        self.url = ""

    def start(self) -> str:
        self.url = self.server.start()
        return self.url

    def stop(self) -> None:
        self.server.stop()
        self._tmp.cleanup()

    def restart(self) -> None:
        """Stop and start on the same data dir (and socket)."""
        self.server.stop()
        self.url = self.server.start()

    def kill(self) -> None:
        process = self.server.process
        assert process is not None
        process.kill()
        process.wait()
        self.server.process = None


def redis_cli(url: str, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-u", url, *args], capture_output=True, text=True, check=True
    ).stdout
