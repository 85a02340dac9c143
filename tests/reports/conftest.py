"""Fixtures: copies of the hand-made result folders in data/ (reports write into the folder)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """The report.html of a data/ folder, built once per session (charts take a second each report)."""
    from reports import build_report

    cache: dict[str, str] = {}

    def html(name: str) -> str:
        if name not in cache:
            target = tmp_path_factory.mktemp("rendered") / name
            shutil.copytree(DATA / name, target)
            cache[name] = build_report(target).path.read_text()
        return cache[name]

    return html


@pytest.fixture
def result_folder(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        target = tmp_path / name
        if not target.exists():
            shutil.copytree(DATA / name, target)
        return target

    return copy
