"""Data: the history of column classification changes (``falaj data classify``).

Revision ID: d0002
Revises: d0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "d0002"
down_revision: str | Sequence[str] | None = "d0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dataset_classification_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("column_name", sa.String(300), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_dataset_classification_changes_name",
        "dataset_classification_changes",
        ["name", "seq"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_dataset_classification_changes_name", table_name="dataset_classification_changes"
    )
    op.drop_table("dataset_classification_changes")
