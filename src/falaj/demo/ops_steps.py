"""A small nightly scoring pipeline the demo uses to show operations: a transient failure that a
retry absorbs, a run that fails on a missing publish target and is resumed once it exists.

Importable by path (``falaj.demo.ops_steps:nightly``) so schedules and exports can name it.
"""

from __future__ import annotations

import json
from pathlib import Path

from falaj.pipelines.graph import pipeline
from falaj.pipelines.step import step

__all__ = ["nightly"]


@step(retries=2, retry_backoff=0.05)
def fetch(workdir: str) -> dict[str, int]:
    """Read the nightly feed; the first attempt of a night finds it not ready (transient)."""
    marker = Path(workdir) / "feed-ready"
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        raise ConnectionError("feed not ready yet (transient, retried)")
    print("feed fetched: 1000 applications")
    return {"applications": 1000}


@step
def score(feed: dict[str, int]) -> dict[str, int]:
    """Score the feed (the model call is elided: the operations are the point here)."""
    return {"scored": feed["applications"], "declined": feed["applications"] // 7}


@step
def publish(scores: dict[str, int], target: str) -> str:
    """Write the scores where the downstream system reads them; fails when it is missing."""
    folder = Path(target)
    if not folder.is_dir():
        raise FileNotFoundError(f"publish target {folder} does not exist")
    out = folder / "scores.json"
    out.write_text(json.dumps(scores), encoding="utf-8")
    return str(out)


@pipeline
def nightly(workdir: str = ".", target: str = "./published") -> None:
    """fetch → score → publish."""
    publish(score(fetch(workdir=workdir)), target=target)
