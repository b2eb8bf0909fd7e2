"""What an attacker with write access to the database does to the audit ledger.

The append-only triggers are the first line; an attacker who owns the tables switches them off
(PostgreSQL: ``ALTER TABLE ... DISABLE TRIGGER USER``; SQLite: ``DROP TRIGGER``) and then edits
rows. The chain is what still catches them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.workspace import Workspace

_SQLITE_TRIGGERS = (
    "audit_events_append_only_UPDATE",
    "audit_events_append_only_DELETE",
    "audit_events_no_reuse",
)


def disable_guards(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    else:
        conn.execute(sa.text("ALTER TABLE audit_events DISABLE TRIGGER USER"))


def tamper(ws: Workspace, *statements: tuple[str, dict[str, Any]]) -> None:
    """Run ``statements`` with the guards off, in one transaction, as the attacker would."""
    with ws.store.engine.begin() as conn:
        disable_guards(conn)
        for sql, params in statements:
            conn.execute(sa.text(sql), params)


def row(ws: Workspace, seq: int) -> dict[str, Any]:
    with ws.store.engine.connect() as conn:
        found = conn.execute(sa.text("SELECT * FROM audit_events WHERE seq = :s"), {"s": seq})
        return dict(found.one()._mapping)


def head(ws: Workspace) -> int:
    with ws.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT MAX(seq) FROM audit_events")).scalar_one())
