"""Migration d0001 (branch "data") applies, reverts and re-applies on SQLite and PostgreSQL."""

from __future__ import annotations

from falaj.store import MetadataStore
from falaj.store.migrate import current_heads, downgrade

DATA_TABLES = {"datasets", "dataset_versions", "dataset_validations"}


def test_data_branch_downgrades_and_upgrades_again(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        assert set(store.table_names()) >= DATA_TABLES
        assert "d0001" in current_heads(store.engine)
        downgrade(store.engine, "data@-1")
        assert not DATA_TABLES & set(store.table_names())
        assert "d0001" not in current_heads(store.engine)
        assert {"audit_events", "artifacts"} <= set(store.table_names())
        store.upgrade()
        assert set(store.table_names()) >= DATA_TABLES
    finally:
        store.close()
