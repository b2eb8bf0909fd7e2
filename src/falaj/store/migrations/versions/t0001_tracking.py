"""Tracking: experiments, runs, params, metrics, latest metrics, tags, run artifacts, models.

Revision ID: t0001
Revises: f0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "t0001"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = ("tracking",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tracking_experiments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_tracking_experiments_name"),
    )
    op.create_table(
        "tracking_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", UTCDateTime(), nullable=False),
        sa.Column("end_time", UTCDateTime(), nullable=True),
        sa.Column("parent_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["tracking_experiments.id"],
            name="fk_tracking_runs_experiment_id_tracking_experiments",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["tracking_runs.id"], name="fk_tracking_runs_parent_id_tracking_runs"
        ),
    )
    op.create_index(
        "ix_tracking_runs_experiment_id_start_time",
        "tracking_runs",
        ["experiment_id", "start_time"],
    )
    op.create_index("ix_tracking_runs_parent_id", "tracking_runs", ["parent_id"])
    op.create_table(
        "tracking_params",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["tracking_runs.id"], name="fk_tracking_params_run_id_tracking_runs"
        ),
    )
    op.create_index("ix_tracking_params_key", "tracking_params", ["key"])
    op.create_table(
        "tracking_metrics",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["tracking_runs.id"], name="fk_tracking_metrics_run_id_tracking_runs"
        ),
    )
    op.create_index(
        "ix_tracking_metrics_run_id_key_step", "tracking_metrics", ["run_id", "key", "step"]
    )
    op.create_table(
        "tracking_latest_metrics",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name="fk_tracking_latest_metrics_run_id_tracking_runs",
        ),
    )
    op.create_index(
        "ix_tracking_latest_metrics_key_value", "tracking_latest_metrics", ["key", "value"]
    )
    op.create_table(
        "tracking_tags",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["tracking_runs.id"], name="fk_tracking_tags_run_id_tracking_runs"
        ),
    )
    op.create_index("ix_tracking_tags_key", "tracking_tags", ["key"])
    op.create_table(
        "tracking_run_artifacts",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(500), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name="fk_tracking_run_artifacts_run_id_tracking_runs",
        ),
        sa.ForeignKeyConstraint(
            ["digest"], ["artifacts.digest"], name="fk_tracking_run_artifacts_digest_artifacts"
        ),
    )
    op.create_table(
        "tracking_logged_models",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("artifact_digest", sa.String(64), nullable=False),
        sa.Column("flavor", sa.String(50), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=True),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name="fk_tracking_logged_models_run_id_tracking_runs",
        ),
        sa.ForeignKeyConstraint(
            ["artifact_digest"],
            ["artifacts.digest"],
            name="fk_tracking_logged_models_artifact_digest_artifacts",
        ),
    )
    op.create_table(
        "tracking_run_inputs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("dataset_version_id", sa.String(300), primary_key=True),
        sa.Column("context", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name="fk_tracking_run_inputs_run_id_tracking_runs",
        ),
    )


def downgrade() -> None:
    op.drop_table("tracking_run_inputs")
    op.drop_table("tracking_logged_models")
    op.drop_table("tracking_run_artifacts")
    op.drop_index("ix_tracking_tags_key", "tracking_tags")
    op.drop_table("tracking_tags")
    op.drop_index("ix_tracking_latest_metrics_key_value", "tracking_latest_metrics")
    op.drop_table("tracking_latest_metrics")
    op.drop_index("ix_tracking_metrics_run_id_key_step", "tracking_metrics")
    op.drop_table("tracking_metrics")
    op.drop_index("ix_tracking_params_key", "tracking_params")
    op.drop_table("tracking_params")
    op.drop_index("ix_tracking_runs_parent_id", "tracking_runs")
    op.drop_index("ix_tracking_runs_experiment_id_start_time", "tracking_runs")
    op.drop_table("tracking_runs")
    op.drop_table("tracking_experiments")
