"""Checking, before serving, that another library still has the private attributes we use.

Each module that touches a library's internals (`live.media.aiortc_private`,
`aioice_private`, `srtp_private`, `live.realtime.uvicorn_private`) names the version it
was built for and has a `check()` built from `require`: a missing attribute becomes one
`MissingPrivateAttribute`, whose text is the one line `live serve` stops with. Without
it, an upgrade would show up as black video or silent fallbacks, with no error.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any


class MissingPrivateAttribute(RuntimeError):
    """A library lacks an attribute that live's private-touch module for it relies on."""

    def __init__(self, library: str, built_for: str, attribute: str) -> None:
        self.library = library
        self.built_for = built_for
        self.attribute = attribute
        super().__init__(
            f"{library} {installed_version(library)} has no {attribute}, which live needs "
            f"(built for {library}=={built_for}); install {library}=={built_for}"
        )


def installed_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(not installed)"


def has_attribute(owner: object, name: str) -> bool:
    """`hasattr`, or an annotation in the class body (an instance attribute that the
    class declares but only sets later, e.g. a protocol's `transport`)."""
    if hasattr(owner, name):
        return True
    classes = owner.__mro__ if isinstance(owner, type) else type(owner).__mro__
    return any(name in getattr(cls, "__annotations__", {}) for cls in classes)


def require(library: str, built_for: str, owner: object, label: str, names: Iterable[str]) -> None:
    """Raise `MissingPrivateAttribute` for the first of `names` that `owner` lacks.

    `label` is how the owner is named in the message (`RTCRtpSender`, `aioice.ice`)."""
    for name in names:
        if not has_attribute(owner, name):
            raise MissingPrivateAttribute(library, built_for, f"{label}.{name}")


def in_fresh_loop(probe: Callable[[], Any]) -> Any:
    """Run `probe` (a coroutine function) on a new event loop in a new thread.

    Real library objects are built there (some want a running loop), whether or not the
    caller runs one itself: `live serve` does not, the uvicorn app factory does."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(probe()))
        except BaseException as exc:  # handed to the caller's thread as it was
            failure.append(exc)

    thread = threading.Thread(target=run, name="private-attribute-check")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
