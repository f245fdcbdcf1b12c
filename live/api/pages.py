"""The pages: static files under web/, no build step."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from live.api.http import Endpoint
from live.paths import data_dir

WEB_DIR = data_dir("web")


def _page(name: str) -> Path:
    return WEB_DIR / name


async def rooms_page(request: Request) -> Response:
    return FileResponse(_page("index.html"))


async def viewer_page(request: Request) -> Response:
    return FileResponse(_page("viewer.html"))


async def studio_page(request: Request) -> Response:
    return FileResponse(_page("studio.html"))


async def favicon(request: Request) -> Response:
    # Browsers ask for /favicon.ico whatever a page links; Chromium and Firefox take SVG.
    return FileResponse(
        _page("favicon.svg"),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


class PagesApi:
    """The HTML pages and the site icon; they need no collaborator."""

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint("GET", "/", rooms_page, "Live rooms (HTML)", content_type="text/html"),
            Endpoint(
                "GET", "/r/{room_id}", viewer_page, "Viewer page (HTML)", content_type="text/html"
            ),
            Endpoint(
                "GET",
                "/studio/{room_id}",
                studio_page,
                "Host studio (HTML)",
                content_type="text/html",
            ),
            Endpoint(
                "GET", "/favicon.ico", favicon, "Site icon (SVG)", content_type="image/svg+xml"
            ),
        ]
