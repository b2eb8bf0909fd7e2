"""Foundation: chain the audit ledger (source address, prev_mac, mac) from a recorded genesis.

Records written before this revision carry no MAC; the genesis (``workspace_info`` key
``audit_chain_genesis``) is the last ``seq`` among them, and the chain starts right after it
(see ``falaj.governance.ledger``).

Revision ID: f0003
Revises: f0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from falaj.store.schema import utcnow

revision: str = "f0003"
down_revision: str | Sequence[str] | None = "f0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS = "audit_chain_genesis"


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("source", sa.String(200), nullable=True))
    op.add_column("audit_events", sa.Column("prev_mac", sa.String(64), nullable=True))
    op.add_column("audit_events", sa.Column("mac", sa.String(64), nullable=True))
    conn = op.get_bind()
    last = conn.execute(sa.text("SELECT MAX(seq) FROM audit_events")).scalar()
    info = sa.table(
        "workspace_info",
        sa.column("key", sa.String),
        sa.column("value", sa.Text),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    conn.execute(
        sa.insert(info).values(key=_GENESIS, value=str(int(last or 0)), updated_at=utcnow())
    )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM workspace_info WHERE key = :k"), {"k": _GENESIS})
    conn.execute(sa.text("DELETE FROM workspace_info WHERE key = 'audit_key_id'"))
    # plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy would drop the
    # append-only triggers with the old table
    for column in ("mac", "prev_mac", "source"):
        op.drop_column("audit_events", column)
