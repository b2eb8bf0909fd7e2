"""Serving: deployments, revisions, rollouts, rollout decisions, revision aggregates.

Revision ID: s0001
Revises: f0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "s0001"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = ("serving",)
depends_on: str | Sequence[str] | None = None


def _seq() -> sa.Column[int]:
    return sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("routing_key", sa.String(250), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "deployment_revisions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("artifact_digest", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("shadow_fraction", sa.Float(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment"],
            ["deployments.name"],
            name="fk_deployment_revisions_deployment_deployments",
        ),
    )
    op.create_index("ix_deployment_revisions_deployment", "deployment_revisions", ["deployment"])
    op.create_table(
        "rollouts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("stable_revision", sa.String(32), nullable=False),
        sa.Column("canary_revision", sa.String(32), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_started_at", UTCDateTime(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment"], ["deployments.name"], name="fk_rollouts_deployment_deployments"
        ),
    )
    op.create_index("ix_rollouts_deployment", "rollouts", ["deployment"])
    op.create_table(
        "rollout_decisions",
        _seq(),
        sa.Column("rollout_id", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_rollout_decisions_rollout_id", "rollout_decisions", ["rollout_id"])
    op.create_table(
        "revision_aggregates",
        _seq(),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("revision_id", sa.String(32), nullable=False),
        sa.Column("replica", sa.String(100), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("latency_buckets", sa.JSON(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("compared", sa.Integer(), nullable=False),
        sa.Column("disagreed", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_revision_aggregates_revision_id_window_end",
        "revision_aggregates",
        ["revision_id", "window_end"],
    )


def downgrade() -> None:
    op.drop_table("revision_aggregates")
    op.drop_table("rollout_decisions")
    op.drop_table("rollouts")
    op.drop_table("deployment_revisions")
    op.drop_table("deployments")
