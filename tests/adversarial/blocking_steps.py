"""A pipeline whose only step signals that it started, then waits to be released (tests)."""

from __future__ import annotations

import time
from pathlib import Path

from falaj.pipelines import pipeline, step


@step(cache=False)
def hold(folder: str) -> int:
    """Touch ``started``; return once ``release`` exists (the test creates it, or kills us)."""
    base = Path(folder)
    (base / "started").touch()
    while not (base / "release").exists():
        time.sleep(0.05)  # polling a file the test creates: no timing assumption
    return 1


@pipeline
def held(folder: str = "") -> None:
    hold(folder=folder)
