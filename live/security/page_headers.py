"""PURE: the security headers of our responses: CSP and framing for the pages, nosniff and
Referrer-Policy for everything."""

from __future__ import annotations

from collections.abc import Sequence

COMMON = {
    "x-content-type-options": "nosniff",
    # Room and order ids in paths stay on this site; other sites see the origin only.
    "referrer-policy": "strict-origin-when-cross-origin",
}


def csp(frame_ancestors: str) -> str:
    """Scripts and styles from this server only (no inline code, no eval); product images
    may come from any https: host; video from our own streams."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' https: data: blob:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def page_headers(path: str, embed_origins: Sequence[str]) -> dict[str, str]:
    """Headers for a response to `path`: the pages get CSP and framing rules; the studio is
    never framed, the viewer page only by `[server] embed_origins` (merchants' shops)."""
    if path.startswith("/studio/"):
        return {**COMMON, "content-security-policy": csp("'none'"), "x-frame-options": "DENY"}
    if path.startswith("/r/"):
        ancestors = " ".join(["'self'", *embed_origins])
        headers = {**COMMON, "content-security-policy": csp(ancestors)}
        if not embed_origins:
            headers["x-frame-options"] = "SAMEORIGIN"
        return headers
    if path == "/" or path.startswith("/static/"):
        return {**COMMON, "content-security-policy": csp("'self'")}
    return dict(COMMON)
