"""Engine construction for the supported databases, and translation of their errors.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` (a committed transaction
survives a power loss: WAL is fsynced at every commit; ``NORMAL``, chosen with the
``sqlite_synchronous`` setting, is faster but can roll back the last commits on power loss), a
long busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front, so concurrent
writers queue on the busy timeout instead of failing with "database is locked" when a deferred
transaction tries to upgrade its lock. PostgreSQL runs through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import StaticPool

from falaj.errors import BackendUnavailableError, ConfigError
from falaj.redact import redact

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_SYNCHRONOUS",
    "create_engine",
    "masked_url",
    "translate_errors",
]

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: the accepted ``PRAGMA synchronous`` levels; FULL is the default
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
_DEFERRED = "falaj_deferred"


def masked_url(url: str | sa.URL) -> str:
    """The URL with any password hidden, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        text = redact(str(url))
        return text if len(text) <= 200 else text[:200] + "..."


def create_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    """An engine for ``url`` (``sqlite:///path``, ``sqlite://`` or ``postgresql://...``).

    ``sqlite_synchronous`` (``FULL`` or ``NORMAL``) applies to SQLite files only.
    """
    if sqlite_synchronous not in SQLITE_SYNCHRONOUS:
        raise ConfigError(
            f"sqlite_synchronous {str(sqlite_synchronous)[:40]!r} is invalid: expected one of "
            f"{', '.join(SQLITE_SYNCHRONOUS)}"
        )
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - parses the port: '[::1:5432' fails here, not at connect
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"db_url {masked_url(url)!r} is not a database URL "
            "(expected e.g. sqlite:///path/falaj.db or postgresql://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, sqlite_synchronous)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise BackendUnavailableError(
                "PostgreSQL support needs the 'postgres' extra: pip install 'falaj[postgres]'"
            ) from exc
    raise ConfigError(
        f"db_url {masked_url(url)!r}: unsupported database {backend!r} "
        "(supported: sqlite, postgresql)"
    )


def _sqlite_engine(url: sa.URL, synchronous: str) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if in_memory:
        kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event below own BEGIN; pysqlite would otherwise defer it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # REPLACE then fires DELETE triggers (the audit ledger's append-only guard).
        cursor.execute("PRAGMA recursive_triggers=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        deferred = conn.get_execution_options().get(_DEFERRED, False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def read_options() -> dict[str, Any]:
    """Execution options for a read-only transaction (no write lock on SQLite)."""
    return {_DEFERRED: True}


@contextmanager
def translate_errors(url: str) -> Iterator[None]:
    """Turn "cannot reach the database" errors into :class:`BackendUnavailableError`."""
    try:
        yield
    except OperationalError as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        if "locked" in message or "could not connect" in message or "connection" in message:
            raise BackendUnavailableError(
                f"metadata database {masked_url(url)} is unavailable: {message.strip()}"
            ) from exc
        raise
