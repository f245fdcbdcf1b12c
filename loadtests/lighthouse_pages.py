"""Lighthouse (mobile settings) on the home page and on a viewer page with live video.

A `live serve` with the demo line-up; a host in headless Chromium (the fake camera, portrait)
goes live and pins a product; then Lighthouse 12 (tools/lighthouse, `npm ci` there) audits
each page in its own Chromium, Debian's, through CHROME_PATH. Prints the performance,
accessibility and best-practices scores; the reports go under test-output/lighthouse/.

    make lighthouse            # or: python -m loadtests.lighthouse_pages [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

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


async def audit(base: str, runs: int) -> dict[str, dict[str, float]]:
    room = demo_room(base)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROME_FLAGS[1:], "--use-fake-device-for-media-stream"],
            headless=True,
        )
        host = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
        await host.goto(room["host_url"])
        await host.get_by_role("button", name="Go live").click(timeout=30_000)
        await host.get_by_text("You are live").wait_for(timeout=30_000)
        await host.get_by_role("button", name=f"Pin {DEMO[0][1]}").click()
        results: dict[str, list[dict[str, float]]] = {"home": [], "viewer-live": []}
        for i in range(runs):
            # Lighthouse runs in its own Chromium; the host keeps publishing meanwhile.
            results["home"].append(await asyncio.to_thread(lighthouse, base + "/", f"home-{i}"))
            results["viewer-live"].append(
                await asyncio.to_thread(lighthouse, room["viewer_url"], f"viewer-live-{i}")
            )
        await browser.close()
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
        medians = asyncio.run(audit(base, args.runs))
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps({"runs": args.runs, "median": medians}, indent=1))


if __name__ == "__main__":
    main()
