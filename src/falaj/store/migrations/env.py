"""Alembic environment: runs on the connection handed over by :mod:`falaj.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from falaj.store.migrate import VERSION_TABLE


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("falaj migrations run through falaj.store.migrate, not the alembic CLI")
_run(_connection)
