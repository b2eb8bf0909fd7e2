"""The trust revisions: g0001 (governance tables) and f0003 (chain columns) downgrade and upgrade
again; the append-only triggers survive both."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from falaj.store.metadata_store import MetadataStore
from falaj.store.migrate import head_revisions

GOVERNANCE_TABLES = {"audit_checkpoints", "signing_keys", "model_signatures"}


def _columns(store: MetadataStore) -> set[str]:
    return {c["name"] for c in sa.inspect(store.engine).get_columns("audit_events")}


def test_governance_branch_downgrades_alone_and_upgrades_again(tmp_path: Path) -> None:
    store = MetadataStore.connect(f"sqlite:///{tmp_path / 'm.db'}", auto_upgrade=True)
    try:
        before = set(store.table_names())
        store.downgrade("governance@-1")
        assert before - set(store.table_names()) == GOVERNANCE_TABLES
        store.upgrade()
        assert set(store.table_names()) == before and store.revision() == head_revisions()
    finally:
        store.close()


def test_chain_columns_downgrade_keeping_the_append_only_guards(tmp_path: Path) -> None:
    store = MetadataStore.connect(f"sqlite:///{tmp_path / 'm.db'}", auto_upgrade=True)
    try:
        assert {"source", "prev_mac", "mac"} <= _columns(store)
        assert store.get_info("audit_chain_genesis") == "0"
        store.downgrade("f0002")
        assert not {"source", "prev_mac", "mac"} & _columns(store)
        assert store.get_info("audit_chain_genesis") is None
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (event_id, occurred_at, principal, principal_kind,"
                    " action, resource_type, resource_id, outcome, request_id, region, details)"
                    " VALUES ('e1', '2026-01-01 00:00:00', 'p', 'user', 'a.b', 't', 'r',"
                    " 'success', 'q', 'local', '{}')"
                )
            )
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_events"))
        store.upgrade()
        assert store.get_info("audit_chain_genesis") == "1"  # the old record stays unchained
    finally:
        store.close()
