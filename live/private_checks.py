"""The start-up check of every private-touch module (see live.private_attrs)."""

from __future__ import annotations

from live.media import aioice_private, aiortc_private, srtp_private
from live.realtime import uvicorn_private

CHECKS = (
    aiortc_private.check,
    aioice_private.check,
    srtp_private.check,
    uvicorn_private.check,
)


def check_private_attributes() -> None:
    """Raise `MissingPrivateAttribute` (one line, naming the library, the version it was
    built for and the attribute) when an installed library lacks what live relies on."""
    for check in CHECKS:
        check()
