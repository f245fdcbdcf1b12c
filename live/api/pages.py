"""The pages: static files under web/, no build step."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from live.api.http import Endpoint
from live.api.languages import DEFAULT, page_language
from live.paths import data_dir

WEB_DIR = data_dir("web")
_SOURCE_LANG = f'<html lang="{DEFAULT}">'


def _page(name: str) -> Path:
    return WEB_DIR / name


def html_page(request: Request, name: str) -> Response:
    """A page of web/ in the language `Accept-Language` asks for: its <html lang> says
    which, and the page's script writes its text in that language (or the reader's own
    choice, kept in the browser)."""
    lang = page_language(request.headers.get("accept-language"))
    # A page is a few kilobytes, read per request so an edited page shows at once.
    html = _page(name).read_text(encoding="utf-8").replace(_SOURCE_LANG, f'<html lang="{lang}">', 1)
    return HTMLResponse(html, headers={"Vary": "Accept-Language", "Content-Language": lang})


async def rooms_page(request: Request) -> Response:
    return html_page(request, "index.html")


async def viewer_page(request: Request) -> Response:
    return html_page(request, "viewer.html")


async def studio_page(request: Request) -> Response:
    return html_page(request, "studio.html")


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
