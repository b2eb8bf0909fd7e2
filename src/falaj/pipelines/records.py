"""What the pipelines service returns: pipeline runs and step runs, read from the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PipelineRun", "StepOutput", "StepRun"]

SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CACHED = "CACHED"
RUNNING = "RUNNING"
DONE_STATES = (SUCCEEDED, CACHED)


@dataclass(frozen=True)
class StepOutput:
    name: str
    digest: str
    materializer: str
    media_type: str


@dataclass(frozen=True)
class StepRun:
    id: str
    pipeline_run_id: str
    step: str
    function: str
    status: str
    cache_key: str
    code_hash: str
    params: dict[str, Any]
    inputs: dict[str, str]
    attempts: int
    executor: str
    error: str | None
    log_digest: str | None
    cached_from: str | None
    created_by: str
    started_at: dt.datetime
    ended_at: dt.datetime
    outputs: dict[str, StepOutput] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def done(self) -> bool:
        return self.status in DONE_STATES


@dataclass(frozen=True)
class PipelineRun:
    id: str
    pipeline: str
    source: str | None
    params: dict[str, Any]
    graph: dict[str, Any]
    status: str
    executor: str
    external_key: str | None
    error: str | None
    created_by: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    steps: list[StepRun] = field(default_factory=list)
    #: the process executing the run and its last heartbeat (None before it started one)
    owner_host: str | None = None
    owner_pid: int | None = None
    heartbeat_at: dt.datetime | None = None

    def latest(self, step: str) -> StepRun | None:
        """The newest step run of ``step`` in this pipeline run."""
        runs = [s for s in self.steps if s.step == step]
        return runs[-1] if runs else None

    @property
    def duration_s(self) -> float | None:
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()
