"""The registry migration (r0001) creates exactly the tables declared in registry/tables.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from falaj.registry import tables
from falaj.store import MetadataStore, metadata
from falaj.store.migrate import VERSION_TABLE, downgrade

REGISTRY_TABLES = set(tables.__all__)


def _table_of(diff: Any) -> str | None:
    """The table a compare_metadata entry is about (entries may be nested lists)."""
    if isinstance(diff, list):
        return _table_of(diff[0])
    for item in diff[1:]:
        if isinstance(item, sa.Table):
            return item.name
        if isinstance(item, sa.Index | sa.UniqueConstraint | sa.Column | sa.ForeignKeyConstraint):
            table = getattr(item, "table", None)
            if table is not None:
                return str(table.name)
        if isinstance(item, str) and item in REGISTRY_TABLES:
            return item
    return None


def test_registry_schema_matches_declared_tables(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        assert set(store.table_names()) >= REGISTRY_TABLES
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": False}
            )
            diffs = [
                d for d in compare_metadata(context, metadata) if _table_of(d) in REGISTRY_TABLES
            ]
        assert diffs == []
    finally:
        store.close()


def test_registry_branch_downgrades_and_upgrades_again(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        downgrade(store.engine, "registry@-1")
        assert "r0001" not in store.revision()
        assert not REGISTRY_TABLES & set(store.table_names())
        store.upgrade()
        assert "r0001" in store.revision()
        assert set(store.table_names()) >= REGISTRY_TABLES
    finally:
        store.close()
