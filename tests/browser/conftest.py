"""Headless Chromium (Debian's, not a downloaded one) driving the pages of a live server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from live.app import all_endpoints
from live.settings import PROJECT_ROOT
from live.wiring import default_routes

CHROMIUM = os.environ.get("LIVE_TEST_CHROMIUM", "/usr/bin/chromium")
# A name that resolves to loopback but is not "localhost": an insecure origin for the studio.
INSECURE_HOST = "insecure.test"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Real host candidates instead of mDNS names, which a loopback test cannot resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1",
]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "browser"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}

OpenPage = Callable[..., Awaitable[Page]]


def missing_layers() -> list[str]:
    """The server layers the full flows need that this build lacks (before the merge)."""
    paths = {ep.path for ep in all_endpoints()}
    paths |= {str(getattr(route, "path", "")) for route in default_routes()}
    wanted = {
        "the room channel (/ws/rooms/{room_id})": "/ws/rooms/{room_id}",
        "flash sales and orders": "/api/sales/{sale_id}/orders",
        "WHIP/WHEP video": "/api/rooms/{room_id}/whip",
    }
    return [name for name, path in wanted.items() if path not in paths]


def needs_full_stack() -> pytest.MarkDecorator:
    missing = missing_layers()
    return pytest.mark.skipif(bool(missing), reason="needs " + ", ".join(missing))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per session, before any I/O)
        pytest.skip(f"no Chromium at {CHROMIUM}; `make test` installs Debian's chromium")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    """open_page(url, size=LAPTOP) -> a page in its own context (own storage, own user).
    Any uncaught script error on any page fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def opener(url: str, size: dict[str, int] | None = None) -> Page:
        context = await browser.new_context(viewport=size or LAPTOP)  # type: ignore[arg-type]
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        await page.goto(url)
        return page

    yield opener
    for context in contexts:
        await context.close()
    assert not errors, errors


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-output/browser/ (gitignored) and return it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width
