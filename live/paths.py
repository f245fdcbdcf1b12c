"""Where live finds its files: the package data (`config/`, `web/`) and the state (`var/`).

An installed wheel carries `config/` and `web/` as `live/_data/` (setup.py copies them
there at build time); an editable checkout has no copy and reads the repository's
top-level folders, the source of truth, so edits show without reinstalling.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


class PackageDataError(RuntimeError):
    """A folder of package data is missing: the install is broken."""


def _packaged_data() -> Path | None:
    root = files("live") / "_data"
    # Only a package on the file system is supported: redis-server and StaticFiles need
    # real paths, and a zipped install is not one.
    return root if isinstance(root, Path) and root.is_dir() else None


PACKAGED_DATA = _packaged_data()


def data_dir(name: str) -> Path:
    """The folder `name` (`config` or `web`) of the package data."""
    path = (PACKAGED_DATA if PACKAGED_DATA is not None else CHECKOUT) / name
    if not path.is_dir():
        raise PackageDataError(f"live's {name}/ folder is missing at {path}: reinstall live")
    return path


def base_dir() -> Path:
    """Where `var/` and relative paths in settings live: the checkout's root when run from
    one, else the current directory (an installed package never writes beside itself)."""
    return CHECKOUT if PACKAGED_DATA is None else Path.cwd()
