"""Fixtures shared by every test layer.

- ``ws``: a fresh embedded workspace (SQLite + local folder) in a temporary folder.
- ``pg_url``: a PostgreSQL URL in a schema of its own (skips when FALAJ_TEST_POSTGRES_URL is
  unset; CI sets it, so there nothing skips).
- ``db_url``: parametrized over SQLite and PostgreSQL, for contract tests.
- ``redis_url``: FALAJ_TEST_REDIS_URL or skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from falaj.governance.principal import Principal
from falaj.workspace import Workspace

POSTGRES_ENV = "FALAJ_TEST_POSTGRES_URL"
REDIS_ENV = "FALAJ_TEST_REDIS_URL"


@pytest.fixture(scope="session", autouse=True)
def _mlflow_default_store(tmp_path_factory: pytest.TempPathFactory) -> None:
    """MLflow's default store is ./mlflow.db: keep any default use inside the test's temp dir."""
    path = tmp_path_factory.mktemp("mlflow-default") / "mlflow.db"
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{path}")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's ~/.falaj or stray FALAJ_* settings."""
    for var in list(os.environ):
        if var.startswith("FALAJ_") and not var.startswith("FALAJ_TEST_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def alice() -> Principal:
    return Principal("alice")


@pytest.fixture
def ws(tmp_path: Path, alice: Principal) -> Iterator[Workspace]:
    workspace = Workspace.init(tmp_path / "ws", principal=alice, region="ae-dubai-1")
    try:
        yield workspace
    finally:
        workspace.close()


def _skip_or_fail(reason: str) -> None:
    """Skip locally; in CI (FALAJ_TEST_REQUIRE_SERVICES=1) a missing service is a failure."""
    if os.environ.get("FALAJ_TEST_REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)


def _pg_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        _skip_or_fail(f"{POSTGRES_ENV} is not set (CI sets it; export it to run PostgreSQL tests)")
    assert url
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    import sqlalchemy as sa

    base = _pg_base_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every supported metadata backend: SQLite (file, WAL) and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def any_ws(db_url: str, tmp_path: Path, alice: Principal) -> Iterator[Workspace]:
    """A workspace on each metadata backend (artifacts in a local folder)."""
    workspace = Workspace.init(
        tmp_path / "any-ws", principal=alice, db_url=db_url, region="ae-dubai-1"
    )
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        _skip_or_fail(f"{REDIS_ENV} is not set (CI sets it; export it to run Redis tests)")
    assert url
    return url
