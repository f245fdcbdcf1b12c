"""Ships the repository's top-level `config/` and `web/` inside the wheel as
`live/_data/config/` and `live/_data/web/`; everything else is in pyproject.toml.

An editable checkout gets no copy: `live.paths` reads the top-level folders there, so an
edit to a page or to default.toml shows at once.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("config", "web")


class BuildPyWithData(build_py):
    """`build_py`, then a copy of each of DATA_DIRS into the built `live` package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in DATA_DIRS:
            self.copy_tree(name, str(Path(self.build_lib, "live", "_data", name)))


setup(cmdclass={"build_py": BuildPyWithData})
