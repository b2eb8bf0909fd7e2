"""The metadata store: one database (SQLite or PostgreSQL) behind SQLAlchemy Core.

Services use :meth:`MetadataStore.transaction` for writes (one transaction per mutating call, the
audit event included) and :meth:`MetadataStore.read` for queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from falaj.errors import BackendUnavailableError, MigrationRequiredError
from falaj.store import migrate
from falaj.store.engine import create_engine, masked_url, read_options, translate_errors
from falaj.store.schema import utcnow
from falaj.store.tables import workspace_info

__all__ = ["MetadataStore", "MetadataStoreProtocol"]


@runtime_checkable
class MetadataStoreProtocol(Protocol):
    """What services need from a metadata store; every backend passes tests/contract/."""

    @property
    def dialect(self) -> str: ...

    def transaction(self) -> AbstractContextManager[Connection]: ...

    def read(self) -> AbstractContextManager[Connection]: ...


class MetadataStore:
    """A migrated metadata database."""

    def __init__(self, engine: Engine, url: str, *, lock_path: Path | None = None) -> None:
        self._engine = engine
        self._url = url
        self._lock_path = lock_path

    @classmethod
    def unchecked(cls, url: str, *, sqlite_synchronous: str = "FULL") -> MetadataStore:
        """A store for ``url`` without checking its schema (for ``falaj db`` commands)."""
        engine = create_engine(url, sqlite_synchronous=sqlite_synchronous)
        return cls(engine, url, lock_path=_sqlite_lock_path(engine))

    @classmethod
    def connect(
        cls, url: str, *, auto_upgrade: bool = False, sqlite_synchronous: str = "FULL"
    ) -> MetadataStore:
        """Open the database at ``url``; with ``auto_upgrade`` apply pending migrations first.

        Without ``auto_upgrade`` an out-of-date schema raises :class:`MigrationRequiredError`
        (run ``falaj db upgrade``).
        """
        store = cls.unchecked(url, sqlite_synchronous=sqlite_synchronous)
        engine = store.engine
        try:
            with translate_errors(url):
                if migrate.is_up_to_date(engine):
                    return store
                if not auto_upgrade:
                    raise MigrationRequiredError(
                        f"metadata database {masked_url(url)} is not at the schema this version of "
                        "Falaj needs; run `falaj db upgrade`"
                    )
                store.upgrade()
        except OperationalError as exc:
            engine.dispose()
            raise BackendUnavailableError(
                f"metadata database {masked_url(url)} is unavailable: {exc.orig}"
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def url(self) -> str:
        """The URL with the password hidden."""
        return masked_url(self._url)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def upgrade(self, revision: str = "heads") -> None:
        with _unavailable(self._url):
            migrate.upgrade(self._engine, revision, lock_path=self._lock_path)

    def downgrade(self, revision: str) -> None:
        """Revert to ``revision`` (e.g. ``"data@-1"`` reverts one step of the data branch)."""
        with _unavailable(self._url):
            migrate.downgrade(self._engine, revision, lock_path=self._lock_path)

    def revision(self) -> set[str]:
        with _unavailable(self._url):
            return migrate.current_heads(self._engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: committed on normal exit, rolled back on any exception."""
        with translate_errors(self._url), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (takes no write lock on SQLite)."""
        with (
            translate_errors(self._url),
            self._engine.connect().execution_options(**read_options()) as conn,
            conn.begin(),
        ):
            yield conn

    def get_info(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(
                sa.select(workspace_info.c.value).where(workspace_info.c.key == key)
            ).scalar_one_or_none()

    def set_info(self, conn: Connection, key: str, value: str) -> None:
        """Upsert a workspace fact inside the caller's transaction."""
        updated = conn.execute(
            sa.update(workspace_info)
            .where(workspace_info.c.key == key)
            .values(value=value, updated_at=utcnow())
        ).rowcount
        if not updated:
            conn.execute(
                sa.insert(workspace_info).values(key=key, value=value, updated_at=utcnow())
            )

    def table_names(self) -> list[str]:
        try:
            return sorted(sa.inspect(self._engine).get_table_names())
        except ProgrammingError as exc:  # pragma: no cover - permissions on exotic setups
            raise BackendUnavailableError(str(exc)) from exc

    def close(self) -> None:
        self._engine.dispose()


def _sqlite_lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).with_suffix(".migrate.lock")


@contextmanager
def _unavailable(url: str) -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        raise BackendUnavailableError(
            f"metadata database {masked_url(url)} is unavailable: {exc.orig}"
        ) from exc
