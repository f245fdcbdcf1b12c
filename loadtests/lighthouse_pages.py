"""Lighthouse (mobile settings) on the home page and on a viewer page with live video.

A `live serve` with the demo line-up; a host publishes video by WHIP (a pre-encoded VP8
loop, bench_media's publisher) and pins a product; then Lighthouse 12 (tools/lighthouse,
`npm ci` there) audits each page in Debian's Chromium, through CHROME_PATH, while the
video plays on the viewer page. Prints the performance,
accessibility and best-practices scores; the reports go under test-output/lighthouse/.

    make lighthouse            # or: python -m loadtests.lighthouse_pages [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from loadtests.bench_media import run_publisher

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / "test-output" / "lighthouse"
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
ADMIN = "lighthouse-admin-" + secrets.token_hex(16)
CATEGORIES = ("performance", "accessibility", "best-practices")
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
DEMO = [
    ("lh-linen-shirt", "Washed linen shirt, oat", 32900, "/static/img/linen-shirt.svg"),
    ("lh-ceramic-mug", "Hand-thrown ceramic mug", 12800, "/static/img/ceramic-mug.svg"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(base: str, tries: int = 150) -> None:
    for _ in range(tries):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{base} did not become healthy")


def demo_room(base: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    room: dict[str, Any] = httpx.post(
        base + "/api/rooms", json={"title": "Autumn linen", "host_name": "Lin"}, headers=auth
    ).json()
    for sku, title, price, image in DEMO:
        product = {"sku": sku, "title": title, "price_cents": price, "currency": "CNY"}
        httpx.post(
            base + "/api/products", json={**product, "image_url": image, "stock": 9}, headers=auth
        )
        httpx.post(
            f"{base}/api/rooms/{room['room_id']}/products",
            json={"sku": sku},
            headers={"Authorization": f"Bearer {room['host_token']}"},
        )
    return room


def lighthouse(url: str, name: str) -> dict[str, float]:
    """One Lighthouse run (mobile, simulated throttling: its defaults); scores 0-100."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{name}.json"
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={' '.join(CHROME_FLAGS)}",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True,
        timeout=240,
    )
    data = json.loads(report.read_text())
    scores = {c: 100.0 * (data["categories"][c]["score"] or 0) for c in CATEGORIES}
    failing = [
        audit["id"]
        for audit in data["audits"].values()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit["scoreDisplayMode"] in ("binary", "numeric", "metricSavings")
    ]
    print(f"{name}: {scores} {'below 0.9: ' + ', '.join(failing) if failing else ''}", flush=True)
    return scores


def go_live(base: str, room: dict[str, Any]) -> threading.Event:
    """The host publishes a pre-encoded 640x480 VP8 loop by WHIP (bench_media's publisher:
    no camera, no encoder, so Lighthouse has the CPU) and pins a product; set the event to
    stop."""
    stop = threading.Event()
    answers: queue.Queue[str] = queue.Queue()
    path = f"/api/rooms/{room['room_id']}/whip"
    publisher = threading.Thread(
        target=run_publisher, args=(base, path, room["host_token"], {}, stop, answers), daemon=True
    )
    publisher.start()
    answers.get(timeout=60)
    for _ in range(150):
        if httpx.get(f"{base}/api/rooms/{room['room_id']}").json().get("live"):
            break
        time.sleep(0.2)
    ws_url = base.replace("http://", "ws://") + f"/ws/rooms/{room['room_id']}?token="
    with connect(ws_url + room["host_token"]) as ws:
        ws.recv()
        ws.send(json.dumps({"type": "pin", "sku": DEMO[0][0]}))
        ws.recv()
    return stop


def audit(base: str, runs: int) -> dict[str, dict[str, float]]:
    room = demo_room(base)
    stop = go_live(base, room)
    results: dict[str, list[dict[str, float]]] = {"home": [], "viewer-live": []}
    try:
        for i in range(runs):
            results["home"].append(lighthouse(base + "/", f"home-{i}"))
            results["viewer-live"].append(lighthouse(room["viewer_url"], f"viewer-live-{i}"))
    finally:
        stop.set()
    return {
        page: {c: statistics.median(r[c] for r in runs_) for c in CATEGORIES}
        for page, runs_ in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per page (median kept)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("no Lighthouse: run `make lighthouse` (npm ci in tools/lighthouse)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LIVE_ADMIN_TOKEN": ADMIN, "LIVE_LOGGING_LEVEL": "warning"}
    env["LIVE_REDIS_KEY_PREFIX"] = "lh" + secrets.token_hex(3)
    env.pop("LIVE_REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from live.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(base)
        medians = audit(base, args.runs)
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps({"runs": args.runs, "median": medians}, indent=1))


if __name__ == "__main__":
    main()
