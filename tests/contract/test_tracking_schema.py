"""The tracking migration (t0001) creates exactly the tables declared in tracking/tables.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from falaj.store import MetadataStore, metadata
from falaj.store.migrate import VERSION_TABLE, downgrade
from falaj.tracking import tables

TRACKING_TABLES = {getattr(tables, name).name for name in tables.__all__}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):
        return _table_of(diff[0])
    for item in diff[1:]:
        if isinstance(item, sa.Table):
            return item.name
        table = getattr(item, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(item, str) and item in TRACKING_TABLES:
            return item
    return None


def test_tracking_schema_matches_declared_tables(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        assert set(store.table_names()) >= TRACKING_TABLES
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            diffs = [
                d for d in compare_metadata(context, metadata) if _table_of(d) in TRACKING_TABLES
            ]
        assert diffs == []
    finally:
        store.close()


def test_tracking_branch_downgrades_and_upgrades_again(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        downgrade(store.engine, "tracking@-1")
        assert "t0001" not in store.revision()
        assert not TRACKING_TABLES & set(store.table_names())
        store.upgrade()
        assert "t0001" in store.revision()
        assert set(store.table_names()) >= TRACKING_TABLES
    finally:
        store.close()
