"""What the deployments page needs from serving and monitoring, as a narrow Protocol.

The UI reads a deployment through :class:`DeploymentsSource` (one call: :meth:`snapshot`), so it
depends on neither ``falaj.serving`` nor ``falaj.monitoring``; the workspace (or the server)
wires an adapter over them. A workspace without serving passes ``None`` and the page says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Alert",
    "DeploymentSnapshot",
    "DeploymentsSource",
    "DriftPoint",
    "Revision",
    "RolloutDecision",
    "TrafficPoint",
]


@dataclass(frozen=True)
class Revision:
    """One revision of a deployment: which model version it serves and its traffic weight."""

    revision: str
    model: str
    version: int
    weight: float
    state: str
    created_at: dt.datetime


@dataclass(frozen=True)
class RolloutDecision:
    """A step the rollout controller took (promote, hold, roll back) and why."""

    at: dt.datetime
    revision: str
    decision: str
    reason: str


@dataclass(frozen=True)
class TrafficPoint:
    """Request aggregates of one time bucket."""

    at: dt.datetime
    requests: int
    errors: int
    latency_p50_ms: float
    latency_p95_ms: float


@dataclass(frozen=True)
class DriftPoint:
    """The drift score of one feature over one window."""

    at: dt.datetime
    feature: str
    score: float
    threshold: float


@dataclass(frozen=True)
class Alert:
    at: dt.datetime
    severity: str
    message: str
    resolved: bool = False


@dataclass(frozen=True)
class DeploymentSnapshot:
    """Everything the deployments page shows, read at one moment."""

    name: str
    rollout_state: str
    revisions: list[Revision]
    decisions: list[RolloutDecision] = field(default_factory=list)
    traffic: list[TrafficPoint] = field(default_factory=list)
    drift: list[DriftPoint] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


class DeploymentsSource(Protocol):
    """Serving and monitoring as the UI sees them."""

    def names(self) -> list[str]:
        """The deployments the current principal may read."""

    def snapshot(self, name: str) -> DeploymentSnapshot:
        """The deployment ``name`` now; :class:`~falaj.errors.NotFoundError` when unknown,
        :class:`~falaj.errors.PermissionDeniedError` when the principal may not read it."""
