"""Headless Chromium (Debian's, not a downloaded one) driving the pages of a live server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from live.app import create_app
from live.settings import PROJECT_ROOT
from tests.conftest import make_settings

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
# A phone as the phone-first pages are measured on: 390×844 portrait, touch, mobile viewport.
PORTRAIT = {"width": 390, "height": 844}
LANDSCAPE = {"width": 844, "height": 390}
TOUCH = {"has_touch": True, "is_mobile": True, "device_scale_factor": 2}

OpenPage = Callable[..., Awaitable[Page]]

# expect() waits this long by default (its own default, 5 s, is short on a busy machine).
expect.set_options(timeout=15_000)


LAYERS = {
    "channel": "/ws/rooms/{room_id}",
    "sales": "/api/sales/{sale_id}/orders",
    "video": "/api/rooms/{room_id}/whip",
}


def missing_layers(*wanted: str) -> list[str]:
    """Which of the server layers a flow needs (channel, sales, video) this build lacks."""
    # The app as `live serve` builds it (its Redis client connects on first use: never here).
    app = create_app(make_settings(), "redis://127.0.0.1:1/0")
    paths = {str(getattr(route, "path", "")) for route in app.routes}
    return [name for name in wanted if LAYERS[name] not in paths]


def needs(*layers: str) -> pytest.MarkDecorator:
    """Skip, saying why, while a layer the test drives is not in this build."""
    missing = missing_layers(*layers)
    return pytest.mark.skipif(bool(missing), reason="needs the layers: " + ", ".join(missing))


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
    """open_page(url, size=LAPTOP, **context_options) -> a page in its own context (own
    storage, own user; options such as locale="zh-CN" or **TOUCH go to the context).
    Any uncaught script error on any page fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    async def opener(url: str, size: dict[str, int] | None = None, **options: Any) -> Page:
        # The pages' CSP forbids eval, which Playwright's string predicates
        # (wait_for_function) use; the CSP itself is checked in tests/security.
        options.setdefault("bypass_csp", True)
        context = await browser.new_context(viewport=size or LAPTOP, **options)  # type: ignore[arg-type]
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
