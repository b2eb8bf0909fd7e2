"""Features: definition versions and materialization watermarks.

Revision ID: x0001
Revises: f0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "x0001"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = ("features",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feature_definitions",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_digest", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", "version", name="pk_feature_definitions"),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("view", sa.String(100), nullable=False),
        sa.Column("view_version", sa.Integer(), nullable=False),
        sa.Column("source_version", sa.String(220), nullable=False),
        sa.Column("watermark", UTCDateTime(), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("online_store", sa.String(20), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("view", name="pk_feature_materializations"),
    )


def downgrade() -> None:
    op.drop_table("feature_materializations")
    op.drop_table("feature_definitions")
