"""The audit ledger cannot be rewritten through REPLACE, conflicting inserts or TRUNCATE."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from falaj.governance.tables import audit_events
from falaj.store.engine import create_engine
from falaj.store.roles import owner_role_sql
from falaj.workspace import Workspace

_COLUMNS = (
    "seq, event_id, occurred_at, principal, principal_kind, action, resource_type, "
    "resource_id, outcome, request_id, region, details"
)


def _ledger(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.store.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(audit_events).order_by("seq"))]


def _attempt(ws: Workspace, sql: str, **params: Any) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), ws.store.transaction() as conn:
        conn.execute(sa.text(sql), params)


def _rewrite(verb: str) -> str:
    """Copy event :seq back onto itself with another principal (SQLite conflict clauses)."""
    return (
        f"{verb} INTO audit_events ({_COLUMNS}) SELECT seq, event_id, occurred_at, 'mallory', "
        "principal_kind, action, resource_type, resource_id, outcome, request_id, region, "
        "details FROM audit_events WHERE seq = :seq"
    )


def _steal_event_id() -> str:
    """A new row (new seq) reusing event :seq's event_id: REPLACE would delete the original."""
    return (
        f"INSERT OR REPLACE INTO audit_events ({_COLUMNS}) SELECT NULL, event_id, occurred_at, "
        "'mallory', principal_kind, 'nothing.happened', resource_type, resource_id, outcome, "
        "request_id, region, details FROM audit_events WHERE seq = :seq"
    )


@pytest.fixture
def sqlite_ws(tmp_path: Any) -> Any:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.artifacts.put_bytes(b"evidence")
        yield ws


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE", "INSERT OR IGNORE"])
def test_sqlite_replace_cannot_rewrite_an_event(sqlite_ws: Workspace, verb: str) -> None:
    before = _ledger(sqlite_ws)
    seq = before[-1][0]
    _attempt(sqlite_ws, _rewrite(verb), seq=seq)
    assert _ledger(sqlite_ws) == before


def test_sqlite_replace_cannot_delete_an_event_by_reusing_its_id(sqlite_ws: Workspace) -> None:
    before = _ledger(sqlite_ws)
    _attempt(sqlite_ws, _steal_event_id(), seq=before[0][0])
    assert _ledger(sqlite_ws) == before


def test_every_sqlite_connection_fires_triggers_on_replace(tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        for _ in range(2):  # a fresh and a pooled connection
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1
    finally:
        engine.dispose()


def test_ledger_rejects_reuse_on_both_backends(any_ws: Workspace) -> None:
    any_ws.artifacts.put_bytes(b"evidence")
    before = _ledger(any_ws)
    if any_ws.store.engine.dialect.name == "sqlite":
        _attempt(any_ws, _rewrite("INSERT OR REPLACE"), seq=before[-1][0])
    else:
        _attempt(
            any_ws,
            _rewrite("INSERT") + " ON CONFLICT (seq) DO UPDATE SET principal = EXCLUDED.principal",
            seq=before[-1][0],
        )
        _attempt(any_ws, "TRUNCATE audit_events")
    assert _ledger(any_ws) == before


def test_postgres_app_role_that_owns_nothing_cannot_disable_the_guards(
    pg_url: str, tmp_path: Any
) -> None:
    """The documented owner split: the app appends events but cannot TRUNCATE or drop triggers."""
    schema = pg_url.rsplit("search_path%3D", 1)[1]
    suffix = uuid.uuid4().hex[:8]
    app, owner = f"falaj_app_{suffix}", f"falaj_owner_{suffix}"
    Workspace.init(tmp_path / "ws", db_url=pg_url).close()
    admin = create_engine(pg_url)
    user, _, rest = pg_url.partition("://")[2].partition("@")
    app_url = f"postgresql://{app}@{rest}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {app} LOGIN")
            sql = owner_role_sql(app_role=app, owner_role=owner, schema=schema)
            conn.connection.driver_connection.execute(sql)  # as psql -f would: no placeholders
            tables = conn.execute(
                sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = :s"),
                {"s": schema},
            ).scalars()
            assert set(tables) == {owner}
        with Workspace.open(tmp_path / "ws", db_url=app_url) as ws:
            before = len(_ledger(ws))
            ws.artifacts.put_bytes(b"written by the app role")
            assert len(_ledger(ws)) == before + 1
            for sql, refusal in (
                ("TRUNCATE audit_events", "permission denied"),
                ("DELETE FROM audit_events", "permission denied"),
                ("ALTER TABLE audit_events DISABLE TRIGGER ALL", "must be owner"),
                ("DROP TRIGGER audit_events_append_only ON audit_events", "must be owner"),
            ):
                with (
                    pytest.raises(sa.exc.DBAPIError, match=refusal),
                    ws.store.transaction() as conn,
                ):
                    conn.exec_driver_sql(sql)
            assert len(_ledger(ws)) == before + 1
    finally:
        with admin.begin() as conn:
            existing = set(conn.exec_driver_sql("SELECT rolname FROM pg_roles").scalars())
            for role in (r for r in (owner, app) if r in existing):
                conn.exec_driver_sql(f"REASSIGN OWNED BY {role} TO {user}")
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_owner_sql_refuses_names_that_are_not_plain_identifiers() -> None:
    from falaj.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="--app-role 'x; DROP TABLE runs'"):
        owner_role_sql(app_role="x; DROP TABLE runs")
    with pytest.raises(InvalidInputError, match="owns nothing"):
        owner_role_sql(app_role="falaj_owner")
