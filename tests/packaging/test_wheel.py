"""The built wheel, installed into a fresh venv outside the checkout, serves the pages.

The wheel is built from the sdist (`python -m build`, as a release is), installed with
`--no-deps` into a new venv; that venv finds the dependencies through a `.pth` line naming
this venv's site-packages (a plain path line processes none of that folder's own .pth
files, so the editable `live` there stays invisible). `live demo` and `live serve` then
run from an empty folder, each with its embedded Redis.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from live.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.serving import ADMIN, serve_env, wait_healthy

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def live(self) -> Path:
        return self.venv / "bin" / "live"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, PROJECT_ROOT)
    (wheel,) = dist.glob("live-*.whl")
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    target = venv / "bin" / "python"
    # Installed before the .pth below exists, so pip sees an empty environment.
    _run(sys.executable, "-m", "pip", "--python", target, "install", "-q", "--no-deps", wheel)
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(_run(target, "-c", code).strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_deps_from_project_venv.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    return Installed(wheel, venv)


def test_wheel_carries_config_web_and_lua(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder in ("config", "web"):
        for path in (PROJECT_ROOT / folder).rglob("*"):
            if path.is_file():
                relative = path.relative_to(PROJECT_ROOT).as_posix()
                assert f"live/_data/{relative}" in names
    lua = PROJECT_ROOT / "live" / "redisdb" / "lua"
    assert {f"live/redisdb/lua/{p.name}" for p in lua.glob("*.lua")} <= names


def test_live_is_imported_from_the_fresh_venv(installed: Installed, tmp_path: Path) -> None:
    code = "import live.paths as p; print(p.__file__); print(p.PACKAGED_DATA)"
    module, data = _run(installed.python, "-c", code, cwd=tmp_path).split()
    assert Path(module).is_relative_to(installed.venv)
    assert Path(data).is_relative_to(installed.venv)


class Running:
    """`live <command>` of the fresh venv, run from `cwd`, its output kept in files."""

    def __init__(self, installed: Installed, command: str, cwd: Path, **env: str) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path, self.stderr_path = cwd / "stdout.log", cwd / "stderr.log"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [installed.live, command, "--port", str(self.port)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    def log(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def printed(self, prefix: str, timeout_s: float = 30) -> str:
        """The rest of the first stdout line that starts with `prefix` (once printed)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            for line in self.stdout_path.read_text().splitlines():
                if line.strip().startswith(prefix):
                    return line.strip().removeprefix(prefix).strip()
            time.sleep(0.1)
        raise AssertionError(f"never printed {prefix!r}:\n{self.log()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(20)


@contextlib.contextmanager
def running(installed: Installed, command: str, cwd: Path, **env: str) -> Iterator[Running]:
    server = Running(installed, command, cwd, **env)
    try:
        yield server
    finally:
        code = server.stop()
    assert code == 0, server.log()


def assert_serves_pages(base: str, room_id: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as http:
        home = http.get("/")
        assert home.status_code == 200
        # The page text is filled per language by i18n.js: the English source is served.
        assert re.search(r"<title[^>]*>live · shows</title>", home.text)
        viewer = http.get(f"/r/{room_id}")
        assert viewer.status_code == 200
        assert '<script type="module"' in viewer.text
        for path, kind in (("/static/live.css", "text/css"), ("/static/js/viewer.js", "java")):
            answer = http.get(path)
            assert answer.status_code == 200
            assert kind in answer.headers["content-type"]
        assert http.get("/favicon.ico").headers["content-type"].startswith("image/svg+xml")
        assert http.get("/healthz").status_code == 200
        assert http.get(f"/api/rooms/{room_id}").json()["room_id"] == room_id


def test_installed_demo_serves_its_room(installed: Installed, tmp_path: Path) -> None:
    env = serve_env()
    del env["LIVE_ADMIN_TOKEN"]  # demo makes one and keeps it under var/
    with running(installed, "demo", tmp_path, **env) as demo:
        viewer_url = demo.printed("viewer page:")
        assert viewer_url.startswith(f"{demo.base}/r/")
        room_id = viewer_url.rsplit("/", 1)[1]
        assert_serves_pages(demo.base, room_id)
        lineup = httpx.get(f"{demo.base}/api/rooms/{room_id}/products")
        assert "demo-linen-shirt" in lineup.text
    # State goes to the folder it was started from, never beside the installed package.
    assert (tmp_path / "var" / "admin_token").is_file()
    assert (tmp_path / "var" / "redis" / "appendonly").is_dir()  # named in redis.conf
    assert not list(installed.venv.rglob("var"))


def test_installed_serve_with_embedded_redis(installed: Installed, tmp_path: Path) -> None:
    with running(installed, "serve", tmp_path, **serve_env()) as served:
        wait_healthy(served.base)
        room = httpx.post(
            f"{served.base}/api/rooms",
            json={"title": "From the wheel", "host_name": "Lin"},
            headers=ADMIN,
        )
        assert room.status_code == 201, room.text
        assert_serves_pages(served.base, room.json()["room_id"])
