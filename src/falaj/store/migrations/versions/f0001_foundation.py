"""Foundation: workspace facts, audit ledger, artifact index, lineage edges.

Revision ID: f0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import UTCDateTime

revision: str = "f0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("foundation",)
depends_on: str | Sequence[str] | None = None

_AUDIT_GUARD_SQLITE = """
CREATE TRIGGER audit_events_append_only_{op}
BEFORE {op} ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
"""
_AUDIT_GUARD_PG_FN = """
CREATE OR REPLACE FUNCTION falaj_audit_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_events is append-only'; END;
$$ LANGUAGE plpgsql;
"""
_AUDIT_GUARD_PG = """
CREATE TRIGGER audit_events_append_only
BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION falaj_audit_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "workspace_info",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("principal_kind", sa.String(20), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("resource_type", sa.String(50), nullable=False),
        sa.Column("resource_id", sa.String(300), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_audit_events_event_id"),
    )
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_index(
        "ix_audit_events_resource_type_resource_id",
        "audit_events",
        ["resource_type", "resource_id"],
    )
    op.create_index("ix_audit_events_principal", "audit_events", ["principal"])
    op.create_table(
        "artifacts",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
    )
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("source_kind", sa.String(50), nullable=False),
        sa.Column("source_id", sa.String(300), nullable=False),
        sa.Column("target_kind", sa.String(50), nullable=False),
        sa.Column("target_id", sa.String(300), nullable=False),
        sa.Column("relation", sa.String(50), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "source_kind",
            "source_id",
            "target_kind",
            "target_id",
            "relation",
            name="uq_lineage_edges_source_kind",
        ),
    )
    op.create_index(
        "ix_lineage_edges_target_kind_target_id", "lineage_edges", ["target_kind", "target_id"]
    )
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(_AUDIT_GUARD_SQLITE.format(op=verb))
    else:
        op.execute(_AUDIT_GUARD_PG_FN)
        op.execute(_AUDIT_GUARD_PG)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_append_only_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS falaj_audit_append_only()")
    op.drop_table("lineage_edges")
    op.drop_table("artifacts")
    op.drop_index("ix_audit_events_principal", "audit_events")
    op.drop_index("ix_audit_events_resource_type_resource_id", "audit_events")
    op.drop_index("ix_audit_events_occurred_at", "audit_events")
    op.drop_table("audit_events")
    op.drop_table("workspace_info")
