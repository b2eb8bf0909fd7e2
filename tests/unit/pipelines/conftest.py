"""Fixtures of the pipelines unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def counter(tmp_path: Path) -> str:
    """A file the sample steps bump each time they really execute."""
    return str(tmp_path / "counter.txt")


def executions(counter: str) -> int:
    path = Path(counter)
    return int(path.read_text()) if path.exists() else 0
