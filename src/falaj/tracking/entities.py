"""The values the tracking API returns: experiments, runs, metric points, logged models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Experiment",
    "LoggedModel",
    "MetricPoint",
    "Run",
    "RunArtifact",
    "RunInput",
    "RunPage",
    "RunStatus",
]

RunStatus = str
STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
END_STATUSES = ("FINISHED", "FAILED", "KILLED")


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    description: str | None
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    step: int
    timestamp: dt.datetime


@dataclass(frozen=True)
class RunArtifact:
    name: str
    digest: str
    media_type: str
    size: int
    created_at: dt.datetime


@dataclass(frozen=True)
class RunInput:
    dataset_version_id: str
    context: str


@dataclass(frozen=True)
class LoggedModel:
    """A model stored as one artifact by a run; ``uri`` is ``runs:/<run_id>/<name>``."""

    run_id: str
    name: str
    artifact_digest: str
    flavor: str
    signature: dict[str, Any] | None
    trusted: bool

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.name}"


@dataclass(frozen=True)
class Run:
    """A run as stored: attributes, params, latest metric values and tags."""

    id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: dt.datetime
    end_time: dt.datetime | None
    parent_id: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    error: str | None
    experiment_id: str = ""
    created_by: str = ""
    host: str | None = None
    pid: int | None = None
    artifacts: list[RunArtifact] = field(default_factory=list)
    models: list[LoggedModel] = field(default_factory=list)
    inputs: list[RunInput] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``--json`` output)."""
        return {
            "id": self.id,
            "experiment": self.experiment,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "status": self.status,
            "start_time": self.start_time.isoformat(),
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "parent_id": self.parent_id,
            "created_by": self.created_by,
            "host": self.host,
            "pid": self.pid,
            "params": dict(self.params),
            "metrics": dict(self.metrics),
            "tags": dict(self.tags),
            "error": self.error,
            "artifacts": [
                {"name": a.name, "digest": a.digest, "media_type": a.media_type, "size": a.size}
                for a in self.artifacts
            ],
            "models": [
                {"name": m.name, "uri": m.uri, "flavor": m.flavor, "digest": m.artifact_digest}
                for m in self.models
            ],
            "inputs": [
                {"dataset_version": i.dataset_version_id, "context": i.context} for i in self.inputs
            ],
        }


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    next_page_token: str | None
