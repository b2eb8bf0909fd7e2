"""Registry: registered models, versions, tags, aliases and their moves, evidence, policies,
approvals, promotions.

Revision ID: r0001
Revises: f0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "r0001"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = ("registry",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("source_uri", sa.String(500), nullable=False),
        sa.Column("artifact_digest", sa.String(64), nullable=False),
        sa.Column("flavor", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
        sa.ForeignKeyConstraint(
            ["name"],
            ["registered_models.name"],
            name="fk_model_versions_name_registered_models",
        ),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "model_aliases",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "alias_moves",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("moved_by", sa.String(200), nullable=False),
        sa.Column("moved_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_alias_moves_name_alias_moved_at", "alias_moves", ["name", "alias", "moved_at"]
    )
    op.create_table(
        "model_evidence",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("artifact_digest", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_model_evidence_name_version", "model_evidence", ["name", "version"])
    op.create_table(
        "model_policies",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("revision", sa.Integer(), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "model_approvals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", "version", "approver", name="uq_model_approvals_name_version"),
    )
    op.create_table(
        "model_promotions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("risk", sa.String(20), nullable=False),
        sa.Column("policy_revision", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_model_promotions_name_version", "model_promotions", ["name", "version"])


def downgrade() -> None:
    op.drop_index("ix_model_promotions_name_version", "model_promotions")
    op.drop_table("model_promotions")
    op.drop_table("model_approvals")
    op.drop_table("model_policies")
    op.drop_index("ix_model_evidence_name_version", "model_evidence")
    op.drop_table("model_evidence")
    op.drop_index("ix_alias_moves_name_alias_moved_at", "alias_moves")
    op.drop_table("alias_moves")
    op.drop_table("model_aliases")
    op.drop_table("model_version_tags")
    op.drop_index("ix_model_versions_run_id", "model_versions")
    op.drop_table("model_versions")
    op.drop_table("registered_models")
