"""What the serving area stores, as frozen values: deployments, revisions, rollouts, decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Deployment",
    "Revision",
    "RevisionRole",
    "Rollout",
    "RolloutDecisionRecord",
    "RolloutState",
]

RevisionRole = Literal["serving", "shadow"]
RolloutState = Literal["running", "paused", "promoted", "rolled_back"]


@dataclass(frozen=True)
class Revision:
    """One model version (pinned to its digest) inside a deployment."""

    id: str
    deployment: str
    model_name: str
    model_version: int
    artifact_digest: str
    role: RevisionRole
    weight: float
    shadow_fraction: float
    state: str
    created_by: str
    created_at: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.model_name}/{self.model_version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.label,
            "artifact_digest": self.artifact_digest,
            "role": self.role,
            "weight": self.weight,
            "shadow_fraction": self.shadow_fraction,
            "state": self.state,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Deployment:
    """A named endpoint: its active revisions and how traffic is split between them."""

    name: str
    model_name: str
    routing_key: str | None
    generation: int
    description: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revisions: tuple[Revision, ...] = field(default_factory=tuple)

    @property
    def serving(self) -> tuple[Revision, ...]:
        return tuple(r for r in self.revisions if r.role == "serving")

    @property
    def shadows(self) -> tuple[Revision, ...]:
        return tuple(r for r in self.revisions if r.role == "shadow")

    def revision(self, revision_id: str) -> Revision | None:
        for rev in self.revisions:
            if rev.id == revision_id or (len(revision_id) >= 6 and rev.id.startswith(revision_id)):
                return rev
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model_name,
            "routing_key": self.routing_key,
            "generation": self.generation,
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "revisions": [r.to_dict() for r in self.revisions],
        }


@dataclass(frozen=True)
class RolloutDecisionRecord:
    """One judgment of a rollout, as recorded."""

    at: dt.datetime
    decision: str
    reason: str
    evidence: dict[str, Any]
    decided_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "decision": self.decision,
            "reason": self.reason,
            "evidence": self.evidence,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class Rollout:
    """A progressive rollout of a canary revision against the stable one."""

    id: str
    deployment: str
    stable_revision: str
    canary_revision: str
    steps: tuple[float, ...]
    step_index: int
    step_started_at: dt.datetime
    policy: dict[str, Any]
    state: RolloutState
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    decisions: tuple[RolloutDecisionRecord, ...] = ()

    @property
    def weight(self) -> float:
        """The canary's share of traffic at the current step (percent)."""
        return self.steps[self.step_index]

    @property
    def finished(self) -> bool:
        return self.state in ("promoted", "rolled_back")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "stable_revision": self.stable_revision,
            "canary_revision": self.canary_revision,
            "steps": list(self.steps),
            "step_index": self.step_index,
            "canary_weight": self.weight,
            "step_started_at": self.step_started_at.isoformat(),
            "policy": self.policy,
            "state": self.state,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "decisions": [d.to_dict() for d in self.decisions],
        }
