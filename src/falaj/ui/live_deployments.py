"""The deployments page over the real serving and monitoring areas of a workspace.

:class:`WorkspaceDeployments` implements :class:`~falaj.ui.deployments.DeploymentsSource` by
reading ``ws.serving`` (revisions, traffic weights, the rollout and its decisions, request
aggregates per time bucket) and ``ws.monitoring`` (stored drift results per feature, alerts),
each call authorized for the signed-in principal by those services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from falaj.errors import NotFoundError
from falaj.ui.deployments import (
    Alert,
    DeploymentSnapshot,
    DriftPoint,
    Revision,
    RolloutDecision,
    TrafficPoint,
)

if TYPE_CHECKING:
    from falaj.workspace import Workspace

__all__ = ["WorkspaceDeployments"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WorkspaceDeployments:
    """Serving and monitoring of ``ws`` as the deployments page sees them."""

    def __init__(
        self,
        ws: Workspace,
        *,
        span: dt.timedelta = dt.timedelta(hours=24),
        bucket: dt.timedelta = dt.timedelta(minutes=5),
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._ws = ws
        self._span = span
        self._bucket = bucket
        self._clock = clock

    def names(self) -> list[str]:
        return [d.name for d in self._ws.serving.list_deployments()]

    def snapshot(self, name: str) -> DeploymentSnapshot:
        serving = self._ws.serving
        deployment = serving.get_deployment(name)
        try:
            rollout: Any = serving.get_rollout(name)
        except NotFoundError:
            rollout = None
        revisions = [
            Revision(
                revision=r.id,
                model=r.model_name,
                version=r.model_version,
                weight=r.weight if r.role == "serving" else 0.0,
                state=r.role if r.state == "active" else r.state,
                created_at=r.created_at,
            )
            for r in deployment.revisions
        ]
        decisions = []
        if rollout is not None:
            decisions = [
                RolloutDecision(d.at, rollout.canary_revision, d.decision, d.reason)
                for d in rollout.decisions
            ]
        since = self._clock() - self._span
        traffic = [
            TrafficPoint(
                at=at,
                requests=s.requests,
                errors=s.errors,
                latency_p50_ms=float(s.p50_ms or 0.0),
                latency_p95_ms=float(s.p95_ms or 0.0),
            )
            for at, s in serving.timeline(name, since, self._bucket)
        ]
        models = sorted({r.model_name for r in deployment.revisions})
        return DeploymentSnapshot(
            name=name,
            rollout_state=rollout.state if rollout is not None else "none",
            revisions=revisions,
            decisions=decisions,
            traffic=traffic,
            drift=self._drift(models),
            alerts=self._alerts(models),
        )

    def _drift(self, models: list[str]) -> list[DriftPoint]:
        points: list[DriftPoint] = []
        for model in models:
            for row in reversed(self._ws.monitoring.results(model, kind="drift", limit=200)):
                features = dict(row.get("summary") or {}).get("features") or {}
                for feature, result in features.items():
                    statistic = result.get("statistic")
                    threshold = result.get("threshold")
                    if statistic is None or threshold is None:
                        continue
                    points.append(
                        DriftPoint(row["window_end"], feature, float(statistic), float(threshold))
                    )
        return points

    def _alerts(self, models: list[str]) -> list[Alert]:
        return [
            Alert(a.created_at, a.severity, f"{a.monitor}: {a.message}")
            for a in self._ws.monitoring.monitors.alerts(limit=50)
            if a.model in models
        ]
