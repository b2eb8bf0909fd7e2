"""The metadata store contract: every backend (SQLite, PostgreSQL) passes the same suite."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import falaj
from falaj.errors import InvalidInputError, MigrationRequiredError
from falaj.governance import Principal, Service
from falaj.governance.tables import audit_events
from falaj.lineage import Node
from falaj.store import MetadataStore, metadata
from falaj.store.dml import insert_ignore
from falaj.store.migrate import VERSION_TABLE, head_revisions
from falaj.store.tables import workspace_info
from falaj.workspace import Workspace


def _import_all_tables() -> None:
    for module in pkgutil.walk_packages(falaj.__path__, "falaj."):
        if module.name.rpartition(".")[2].endswith("tables"):  # tables, identity_tables
            importlib.import_module(module.name)


def test_fresh_database_is_migrated_to_every_head(db_url: str) -> None:
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        assert store.revision() == head_revisions()
        assert {"audit_events", "artifacts", "lineage_edges", "workspace_info"} <= set(
            store.table_names()
        )
    finally:
        store.close()


def test_migrated_schema_matches_declared_tables(db_url: str) -> None:
    _import_all_tables()
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            diff = [d for d in compare_metadata(context, metadata) if d[0] != "remove_table"]
            assert diff == []
    finally:
        store.close()


BRANCHES = ["data", "tracking", "registry", "pipelines", "identity", "monitoring", "features"]
_TABLE_MODULES = {"identity": "falaj.governance.identity_tables"}
#: a branch whose revision ids do not start with its first letter (f is the foundation's)
_REVISION_LETTER = {"features": "x"}


def _declared_tables(area: str) -> set[str]:
    module = importlib.import_module(_TABLE_MODULES.get(area, f"falaj.{area}.tables"))
    return {t.name for t in vars(module).values() if isinstance(t, sa.Table)}


@pytest.mark.parametrize("branch", BRANCHES)
def test_each_branch_downgrades_alone_and_upgrades_again_keeping_other_data(
    db_url: str, branch: str
) -> None:
    ours = _declared_tables(branch)
    store = MetadataStore.connect(db_url, auto_upgrade=True)
    try:
        with store.transaction() as conn:
            store.set_info(conn, "kept", "yes")
        before = set(store.table_names())
        assert ours <= before
        store.downgrade(f"{branch}@-{len(_branch_revisions(branch))}")  # the whole branch
        after = set(store.table_names())
        assert before - after == ours  # exactly this area's tables, nobody else's
        assert not store.revision() & _branch_revisions(branch)
        store.upgrade()
        assert store.revision() == head_revisions()
        assert set(store.table_names()) == before
        assert store.get_info("kept") == "yes"
    finally:
        store.close()


def _branch_revisions(branch: str) -> set[str]:
    """Every revision of a capability branch (their ids start with its letter: p0001, p0002;
    features uses x0001)."""
    from falaj.store import migrate

    letter = _REVISION_LETTER.get(branch, branch[0])
    names = (migrate._MIGRATIONS / "versions").glob(f"{letter}0*.py")
    return {path.name.split("_")[0] for path in names}


def test_opening_an_old_schema_without_upgrade_is_refused(db_url: str) -> None:
    store = MetadataStore.unchecked(db_url)
    try:
        store.upgrade("f0001")
    finally:
        store.close()
    if head_revisions() == {"f0001"}:
        pytest.skip("only the foundation revision exists")
    with pytest.raises(MigrationRequiredError, match="falaj db upgrade"):
        MetadataStore.connect(db_url, auto_upgrade=False)


def test_upgrading_from_the_previous_revision_keeps_the_data(db_url: str, tmp_path: Path) -> None:
    store = MetadataStore.unchecked(db_url)
    try:
        store.upgrade("f0001")
        with store.transaction() as conn:
            store.set_info(conn, "kept", "yes")
            conn.execute(
                sa.insert(audit_events).values(
                    event_id="e" * 32,
                    occurred_at=falaj.store.utcnow(),
                    principal="alice",
                    principal_kind="user",
                    action="test.write",
                    resource_type="test",
                    resource_id="1",
                    outcome="success",
                    request_id="r",
                    region="local",
                    details={"n": 1},
                )
            )
        store.upgrade()
        assert store.revision() == head_revisions()
        assert store.get_info("kept") == "yes"
        with store.read() as conn:
            row = conn.execute(sa.select(audit_events)).one()
        assert row.details == {"n": 1} and row.action == "test.write"
    finally:
        store.close()


def test_audit_ledger_refuses_update_and_delete(any_ws: Workspace) -> None:
    any_ws.artifacts.put_bytes(b"x")
    for statement in (
        sa.update(audit_events).values(outcome="denied"),
        sa.delete(audit_events),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            any_ws.store.transaction() as conn,
        ):
            conn.execute(statement)
    assert {e.outcome for e in any_ws.audit.list()} == {"success"}


class _Recorder(Service):
    def write(self, key: str, fail: bool) -> None:
        with self.mutation("lineage.record", "info", key, details={"fail": fail}) as m:
            self.store.set_info(m.conn, key, "value")
            if fail:
                raise InvalidInputError("refused on purpose")


def test_failed_mutation_rolls_back_and_records_failure(any_ws: Workspace) -> None:
    service = _Recorder(any_ws.context())
    with pytest.raises(InvalidInputError):
        service.write("doomed", fail=True)
    assert any_ws.store.get_info("doomed") is None
    service.write("kept", fail=False)
    assert any_ws.store.get_info("kept") == "value"
    events = any_ws.audit.list(action="lineage.record", newest_first=False)
    assert [(e.resource_id, e.outcome) for e in events] == [
        ("doomed", "failure"),
        ("kept", "success"),
    ]
    assert "refused on purpose" in events[0].details["error"]
    assert events[1].principal == "alice" and events[1].region == "ae-dubai-1"


def test_insert_ignore_skips_duplicates(any_ws: Workspace) -> None:
    row = {"key": "k", "value": "1", "updated_at": falaj.store.utcnow()}
    with any_ws.store.transaction() as conn:
        assert insert_ignore(conn, workspace_info, row) == 1
        assert insert_ignore(conn, workspace_info, {**row, "value": "2"}) == 0
    assert any_ws.store.get_info("k") == "1"


def test_lineage_walks_upstream_and_downstream_transitively(any_ws: Workspace) -> None:
    src = Node("source", "s3://bank/loans.csv")
    ds = Node("dataset_version", "loans@1")
    run = Node("run", "r1")
    mv = Node("model_version", "credit/1")
    any_ws.lineage.record(src, ds, "ingested_from")
    any_ws.lineage.record(ds, run, "input")
    any_ws.lineage.record(run, mv, "produced")
    any_ws.lineage.record(run, mv, "produced")  # idempotent
    up = any_ws.lineage.upstream(mv)
    assert [(str(e.source), e.depth) for e in up] == [
        ("run:r1", 1),
        ("dataset_version:loans@1", 2),
        ("source:s3://bank/loans.csv", 3),
    ]
    down = any_ws.lineage.downstream(src)
    assert [str(e.target) for e in down] == [
        "dataset_version:loans@1",
        "run:r1",
        "model_version:credit/1",
    ]
    assert any_ws.lineage.upstream(src) == []
    assert any_ws.lineage.upstream("model_version:credit/1") == up
    assert len(any_ws.lineage.upstream(mv, max_depth=1)) == 1
    for bad in (None, "no-colon", 5):
        with pytest.raises(InvalidInputError, match="lineage node"):
            any_ws.lineage.upstream(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="max_depth"):
        any_ws.lineage.downstream(src, max_depth=0)


def test_principal_of_a_workspace_is_recorded_on_writes(any_ws: Workspace) -> None:
    bob = any_ws.as_principal(Principal("bob"))
    meta = bob.artifacts.put_bytes(b"from bob")
    assert meta.created_by == "bob"
    assert any_ws.audit.list(principal="bob")[0].action == "artifact.put"


def test_cheap_head_detection_agrees_with_alembic() -> None:
    from falaj.store.migrate import alembic_heads

    assert head_revisions() == alembic_heads()
    assert "f0001" not in head_revisions() or head_revisions() == {"f0001"}
