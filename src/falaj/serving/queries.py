"""Reading and writing the serving tables (only the serving package imports this module)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.serving.errors import DeploymentNotFoundError, RolloutNotFoundError
from falaj.serving.models import Deployment, Revision, Rollout, RolloutDecisionRecord
from falaj.serving.stats import LATENCY_BOUNDS_MS, RevisionStats
from falaj.serving.tables import (
    deployment_revisions,
    deployments,
    revision_aggregates,
    rollout_decisions,
    rollouts,
)

__all__ = [
    "bump_generation",
    "get_deployment",
    "get_rollout",
    "insert_decision",
    "open_rollout",
    "stats_since",
]


def _revision(row: Any) -> Revision:
    return Revision(
        id=row.id,
        deployment=row.deployment,
        model_name=row.model_name,
        model_version=int(row.model_version),
        artifact_digest=row.artifact_digest,
        role=row.role,
        weight=float(row.weight),
        shadow_fraction=float(row.shadow_fraction),
        state=row.state,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def get_deployment(conn: Connection, name: str, *, lock: bool = False) -> Deployment:
    query = sa.select(deployments).where(deployments.c.name == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise DeploymentNotFoundError(
            f"deployment {name!r} does not exist (create it with `falaj deploy create`)"
        )
    revs = conn.execute(
        sa.select(deployment_revisions)
        .where(deployment_revisions.c.deployment == name, deployment_revisions.c.state == "active")
        .order_by(deployment_revisions.c.created_at, deployment_revisions.c.id)
    ).all()
    return Deployment(
        name=row.name,
        model_name=row.model_name,
        routing_key=row.routing_key,
        generation=int(row.generation),
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        revisions=tuple(_revision(r) for r in revs),
    )


def bump_generation(conn: Connection, name: str, when: dt.datetime) -> None:
    conn.execute(
        sa.update(deployments)
        .where(deployments.c.name == name)
        .values(generation=deployments.c.generation + 1, updated_at=when)
    )


def _rollout(conn: Connection, row: Any) -> Rollout:
    decisions = conn.execute(
        sa.select(rollout_decisions)
        .where(rollout_decisions.c.rollout_id == row.id)
        .order_by(rollout_decisions.c.seq)
    ).all()
    return Rollout(
        id=row.id,
        deployment=row.deployment,
        stable_revision=row.stable_revision,
        canary_revision=row.canary_revision,
        steps=tuple(float(s) for s in row.steps),
        step_index=int(row.step_index),
        step_started_at=row.step_started_at,
        policy=dict(row.policy),
        state=row.state,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        decisions=tuple(
            RolloutDecisionRecord(d.at, d.decision, d.reason, dict(d.evidence), d.decided_by)
            for d in decisions
        ),
    )


def open_rollout(conn: Connection, deployment: str) -> Rollout | None:
    """The deployment's running or paused rollout, if any."""
    row = conn.execute(
        sa.select(rollouts).where(
            rollouts.c.deployment == deployment, rollouts.c.state.in_(("running", "paused"))
        )
    ).first()
    return None if row is None else _rollout(conn, row)


def get_rollout(conn: Connection, deployment: str) -> Rollout:
    """The open rollout, else the latest finished one."""
    row = conn.execute(
        sa.select(rollouts)
        .where(rollouts.c.deployment == deployment)
        .order_by(
            sa.case((rollouts.c.state.in_(("running", "paused")), 0), else_=1),
            rollouts.c.created_at.desc(),
        )
        .limit(1)
    ).first()
    if row is None:
        raise RolloutNotFoundError(
            f"deployment {deployment!r} has no rollout (start one with `falaj rollout start`)"
        )
    return _rollout(conn, row)


def insert_decision(
    conn: Connection,
    rollout_id: str,
    *,
    at: dt.datetime,
    decision: str,
    reason: str,
    evidence: dict[str, Any],
    who: str,
) -> None:
    conn.execute(
        sa.insert(rollout_decisions).values(
            rollout_id=rollout_id,
            at=at,
            decision=decision,
            reason=reason[:4000],
            evidence=evidence,
            decided_by=who,
        )
    )


def timeline(
    conn: Connection, revision_ids: list[str], since: dt.datetime, bucket: dt.timedelta
) -> list[tuple[dt.datetime, RevisionStats]]:
    """Every replica's aggregates for these revisions merged per ``bucket`` of window end
    (oldest first): the request/error/latency series of a deployment."""
    rows = conn.execute(
        sa.select(revision_aggregates).where(
            revision_aggregates.c.revision_id.in_(revision_ids),
            revision_aggregates.c.window_end > since,
        )
    ).all()
    width = len(LATENCY_BOUNDS_MS) + 1
    step = bucket.total_seconds()
    buckets: dict[dt.datetime, RevisionStats] = {}
    for row in rows:
        end = row.window_end
        start = dt.datetime.fromtimestamp(end.timestamp() // step * step, tz=dt.UTC)
        latency = [int(x) for x in row.latency_buckets][:width]
        latency += [0] * (width - len(latency))
        buckets.setdefault(start, RevisionStats()).merge(
            RevisionStats(requests=int(row.requests), errors=int(row.errors), latency=latency)
        )
    return sorted(buckets.items())


def stats_since(
    conn: Connection, revision_ids: list[str], since: dt.datetime
) -> dict[str, RevisionStats]:
    """Every replica's aggregates for these revisions, over windows that ended after ``since``."""
    out = {rid: RevisionStats() for rid in revision_ids}
    rows = conn.execute(
        sa.select(revision_aggregates).where(
            revision_aggregates.c.revision_id.in_(revision_ids),
            revision_aggregates.c.window_end > since,
        )
    ).all()
    width = len(LATENCY_BOUNDS_MS) + 1
    for row in rows:
        latency = [int(x) for x in row.latency_buckets][:width]
        latency += [0] * (width - len(latency))
        out[row.revision_id].merge(
            RevisionStats(
                requests=int(row.requests),
                errors=int(row.errors),
                latency=latency,
                predictions={str(k): int(v) for k, v in dict(row.predictions).items()},
                compared=int(row.compared),
                disagreed=int(row.disagreed),
            )
        )
    return out
