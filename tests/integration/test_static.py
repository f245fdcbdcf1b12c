"""The pages' own files over HTTP: the site icon and a static file."""

from __future__ import annotations

import pytest

from tests.conftest import LiveServer


async def test_favicon_is_an_svg_icon(live_server: LiveServer) -> None:
    answer = await live_server.http.get("/favicon.ico")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.text.lstrip().startswith("<svg")
    assert "max-age" in answer.headers["cache-control"]


@pytest.mark.parametrize("path", ["/", "/r/some-room", "/studio/some-room"])
async def test_every_page_links_the_icon(live_server: LiveServer, path: str) -> None:
    answer = await live_server.http.get(path)
    assert '<link rel="icon" href="/favicon.ico"' in answer.text


async def test_static_files_are_served(live_server: LiveServer) -> None:
    answer = await live_server.http.get("/static/js/viewer.js")
    assert answer.status_code == 200
    assert "javascript" in answer.headers["content-type"]
