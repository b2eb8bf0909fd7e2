"""Registry: approvals record what they were given under (policy revision, model digest,
evidence seen), so a new policy revision or later evidence makes them stale.

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0002"
down_revision: str | Sequence[str] | None = "r0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_approvals", recreate="auto") as batch:
        batch.add_column(sa.Column("policy_revision", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("model_digest", sa.String(64), nullable=True))
        batch.add_column(sa.Column("evidence_seen", sa.Integer(), nullable=True))
        batch.drop_constraint("uq_model_approvals_name_version", type_="unique")
        batch.create_unique_constraint(
            "uq_model_approvals_basis",
            ["name", "version", "approver", "policy_revision", "evidence_seen"],
        )


def downgrade() -> None:
    # Approvals given again under a new basis would collide with the old unique key: keep the
    # latest approval of each approver and version.
    approvals = sa.table(
        "model_approvals",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("version", sa.Integer),
        sa.column("approver", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    newer = sa.alias(approvals, "newer")
    op.execute(
        sa.delete(approvals).where(
            sa.exists().where(
                newer.c.name == approvals.c.name,
                newer.c.version == approvals.c.version,
                newer.c.approver == approvals.c.approver,
                sa.or_(
                    newer.c.created_at > approvals.c.created_at,
                    sa.and_(
                        newer.c.created_at == approvals.c.created_at, newer.c.id > approvals.c.id
                    ),
                ),
            )
        )
    )
    with op.batch_alter_table("model_approvals", recreate="auto") as batch:
        batch.drop_constraint("uq_model_approvals_basis", type_="unique")
        batch.create_unique_constraint(
            "uq_model_approvals_name_version", ["name", "version", "approver"]
        )
        batch.drop_column("evidence_seen")
        batch.drop_column("model_digest")
        batch.drop_column("policy_revision")
