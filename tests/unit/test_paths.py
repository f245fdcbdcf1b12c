"""Where an editable checkout finds its package data (the wheel's side: tests/packaging)."""

from __future__ import annotations

import pytest

from live import paths
from live.settings import PROJECT_ROOT


def test_a_checkout_reads_the_top_level_folders_not_a_copy() -> None:
    # So an edit to a page or to default.toml shows without reinstalling.
    assert paths.PACKAGED_DATA is None
    assert paths.data_dir("config") == PROJECT_ROOT / "config"
    assert paths.data_dir("web") == PROJECT_ROOT / "web"
    assert paths.base_dir() == PROJECT_ROOT


def test_a_missing_folder_is_named() -> None:
    with pytest.raises(paths.PackageDataError, match="nothing/"):
        paths.data_dir("nothing")
