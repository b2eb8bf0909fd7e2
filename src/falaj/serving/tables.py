"""Serving tables: deployments, their revisions, rollouts with their decisions, and the request
aggregates replicas write so the rollout controller can judge across replicas and machines.

No foreign key leaves the package (model names and digests are plain strings), so the serving
migration branch evolves independently of the registry's.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from falaj.store.schema import UTCDateTime, metadata

__all__ = [
    "deployment_revisions",
    "deployments",
    "revision_aggregates",
    "rollout_decisions",
    "rollouts",
]

#: One row per deployment; ``generation`` is bumped by every change of its revisions or
#: traffic, so a replica polls one integer to know whether to reload.
deployments = Table(
    "deployments",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("model_name", String(200), nullable=False),
    Column("routing_key", String(250), nullable=True),
    Column("generation", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

#: A revision serves one model version, pinned to its artifact digest. ``role`` is ``serving``
#: (takes a share of live traffic by ``weight``) or ``shadow`` (receives ``shadow_fraction`` of
#: requests mirrored; its answers are compared, never returned). ``state``: active or retired.
deployment_revisions = Table(
    "deployment_revisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("deployment", String(200), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("artifact_digest", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("weight", Float, nullable=False),
    Column("shadow_fraction", Float, nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("retired_at", UTCDateTime(), nullable=True),
    ForeignKeyConstraint(
        ["deployment"], ["deployments.name"], name="fk_deployment_revisions_deployment_deployments"
    ),
    Index("ix_deployment_revisions_deployment", "deployment"),
)

#: A progressive rollout of ``canary`` against ``stable``: ``steps`` (percentages), the current
#: ``step_index`` and when it started, the judging ``policy`` (JSON), and its ``state``
#: (running, paused, promoted, rolled_back).
rollouts = Table(
    "rollouts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("deployment", String(200), nullable=False),
    Column("stable_revision", String(32), nullable=False),
    Column("canary_revision", String(32), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("step_index", Integer, nullable=False),
    Column("step_started_at", UTCDateTime(), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    ForeignKeyConstraint(
        ["deployment"], ["deployments.name"], name="fk_rollouts_deployment_deployments"
    ),
    Index("ix_rollouts_deployment", "deployment"),
)

#: Every judgment of a rollout (wait, advance, promote, rollback, pause...) with its evidence.
rollout_decisions = Table(
    "rollout_decisions",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("rollout_id", String(32), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Index("ix_rollout_decisions_rollout_id", "rollout_id"),
)

#: What one replica saw for one revision between ``window_start`` and ``window_end``: request and
#: error counts, latency histogram bucket counts, a sketch of the predictions (value -> count),
#: and for shadow revisions how many mirrored answers were compared and how many disagreed.
revision_aggregates = Table(
    "revision_aggregates",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("deployment", String(200), nullable=False),
    Column("revision_id", String(32), nullable=False),
    Column("replica", String(100), nullable=False),
    Column("window_start", UTCDateTime(), nullable=False),
    Column("window_end", UTCDateTime(), nullable=False),
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("latency_buckets", JSON, nullable=False),
    Column("predictions", JSON, nullable=False),
    Column("compared", Integer, nullable=False),
    Column("disagreed", Integer, nullable=False),
    Index("ix_revision_aggregates_revision_id_window_end", "revision_id", "window_end"),
)
