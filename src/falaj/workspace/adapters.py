"""Adapters the workspace wires between sibling areas (which never import each other):
serving's request aggregates as monitoring's ``RequestStatsSource``, and monitoring's feedback
accuracy as serving's ``AccuracySource``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from falaj.governance.context import machinery

if TYPE_CHECKING:
    from falaj.workspace.core import Workspace

__all__ = ["MonitoringAccuracy", "ServingRequestStats"]


class ServingRequestStats:
    """Serving's request aggregates as monitoring's system-health checks read them
    (monitoring's ``RequestStatsSource``): one entry per deployment revision serving ``model``."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def request_stats(self, model: str, since: dt.datetime, until: dt.datetime) -> list[Any]:
        from falaj.monitoring.ports import RequestStats

        out: list[Any] = []
        with machinery():  # part of the monitor run that was authorized
            for deployment in self._ws.serving.list_deployments():
                revisions = [r.id for r in deployment.revisions if r.model_name == model]
                if not revisions:
                    continue
                sums = self._ws.serving.summaries(deployment.name, revisions, since)
                for revision, summary in sums.items():
                    if summary.requests == 0:
                        continue
                    out.append(
                        RequestStats(
                            revision=f"{deployment.name}/{revision}",
                            requests=summary.requests,
                            errors=summary.errors,
                            latency_p95_ms=float(summary.p95_ms or 0.0),
                        )
                    )
        return out


class MonitoringAccuracy:
    """Accuracy of a deployment revision's answers from the feedback joined to its logged
    predictions (serving's ``AccuracySource``); None until labels exist."""

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def accuracy(
        self, deployment: str, revision_id: str, since: dt.datetime
    ) -> tuple[float, int] | None:
        revision = self._ws.serving.get_deployment(deployment).revision(revision_id)
        if revision is None:
            return None
        outcome = self._ws.monitoring.performance(
            revision.model_name, revision.model_version, since=since, record=False
        )
        value = outcome.performance.metrics.get("accuracy")
        if value is None or outcome.performance.labelled == 0:
            return None
        return float(value), outcome.performance.labelled
