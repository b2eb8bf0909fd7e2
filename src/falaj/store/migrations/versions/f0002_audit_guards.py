"""Foundation: close the audit ledger to REPLACE and TRUNCATE.

SQLite's ``INSERT OR REPLACE`` / ``REPLACE INTO`` deletes the conflicting row without firing the
DELETE trigger (unless ``recursive_triggers`` is on, which every Falaj connection now sets), so
an event could be rewritten in place. A BEFORE INSERT trigger now refuses any insert that reuses
an existing ``seq`` or ``event_id``, whatever the conflict clause. PostgreSQL's row triggers do
not cover ``TRUNCATE``; a statement-level trigger now refuses it.

Revision ID: f0002
Revises: f0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "f0002"
down_revision: str | Sequence[str] | None = "f0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_NO_REUSE = """
CREATE TRIGGER audit_events_no_reuse
BEFORE INSERT ON audit_events
WHEN EXISTS (
    SELECT 1 FROM audit_events WHERE seq = NEW.seq OR event_id = NEW.event_id
)
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: seq or event_id already recorded'); END;
"""
_PG_NO_TRUNCATE = """
CREATE TRIGGER audit_events_no_truncate
BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION falaj_audit_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_SQLITE_NO_REUSE)
    else:
        op.execute(_PG_NO_TRUNCATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_reuse")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
