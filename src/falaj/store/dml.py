"""Portable DML helpers for statements whose syntax differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table
    from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore"]


def insert_ignore(
    conn: Connection,
    table: Table,
    rows: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> int:
    """Insert ``rows``, silently skipping any that collide with a unique key; returns inserted."""
    from sqlalchemy.dialects import postgresql, sqlite  # here: a read-only command needs neither

    dialect = conn.dialect.name
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported dialects reach here
        raise RuntimeError(f"unsupported dialect {dialect}")
    params = [dict(rows)] if isinstance(rows, Mapping) else [dict(r) for r in rows]
    if not params:
        return 0
    # rowcount is unreliable for executemany; RETURNING counts exactly on both dialects.
    returning = stmt.returning(*table.primary_key.columns)
    result = conn.execute(returning, params[0] if len(params) == 1 else params)
    return len(result.all())
