"""Data: datasets, dataset versions, validation runs.

Revision ID: d0001
Revises: f0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "d0001"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = ("data",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_datasets"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=False),
        sa.Column("artifact_digest", sa.String(64), nullable=False),
        sa.Column("profile_digest", sa.String(64), nullable=True),
        sa.Column("schema", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("classifications", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_dataset_versions"),
        sa.UniqueConstraint(
            "name", "content_digest", name="uq_dataset_versions_name_content_digest"
        ),
        sa.ForeignKeyConstraint(
            ["name"], ["datasets.name"], name="fk_dataset_versions_name_datasets"
        ),
    )
    op.create_index("ix_dataset_versions_content_digest", "dataset_versions", ["content_digest"])
    op.create_table(
        "dataset_validations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("dataset_version_id", sa.String(300), nullable=True),
        sa.Column("suite_name", sa.String(200), nullable=False),
        sa.Column("suite_digest", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("failed_rows", sa.BigInteger(), nullable=False),
        sa.Column("checks_total", sa.Integer(), nullable=False),
        sa.Column("checks_failed", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("report_digest", sa.String(64), nullable=False),
        sa.Column("quarantine_version_id", sa.String(300), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_validations"),
    )
    op.create_index(
        "ix_dataset_validations_dataset_version_id_created_at",
        "dataset_validations",
        ["dataset_version_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_dataset_validations_dataset_version_id_created_at", "dataset_validations")
    op.drop_table("dataset_validations")
    op.drop_index("ix_dataset_versions_content_digest", "dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
