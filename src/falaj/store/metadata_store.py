"""The metadata store: one database (SQLite or PostgreSQL) behind SQLAlchemy Core.

Services use :meth:`MetadataStore.transaction` for writes and :meth:`MetadataStore.read` for
queries.

**Unit of work.** The outermost :meth:`~MetadataStore.transaction` of a context (a thread, an
asyncio task) opens the unit of work; any ``transaction()`` entered inside it, by any service,
joins it under a SAVEPOINT instead of opening a second connection, and ``read()`` inside it reads
through the same connection. So a change, its lineage edges and its audit events commit together
or not at all, across areas, and one thread never waits on a write lock it holds itself (SQLite
has one writer). Code that must not join (the batched writer) checks :meth:`in_transaction` and
refuses to run inside someone else's unit of work: gather first, then write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
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

__all__ = ["MetadataStore", "MetadataStoreProtocol", "UnitOfWork"]

_log = logging.getLogger("falaj.store")


@dataclass
class UnitOfWork:
    """The open outermost transaction of a context, and what to write should it roll back."""

    conn: Connection
    on_rollback: list[Callable[[Connection], None]] = field(default_factory=list)


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
        self._uow: ContextVar[UnitOfWork | None] = ContextVar(
            f"falaj_uow_{uuid.uuid4().hex[:8]}", default=None
        )

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
        """A write transaction: committed on normal exit, rolled back on any exception.

        Inside an open unit of work of this context it joins that one (a SAVEPOINT: the block's
        changes roll back alone if it raises, and commit with the enclosing work).
        """
        uow = self._uow.get()
        if uow is not None:
            with translate_errors(self._url), uow.conn.begin_nested():
                yield uow.conn
            return
        opened: UnitOfWork | None = None
        try:
            with translate_errors(self._url), self._engine.begin() as conn:
                opened = UnitOfWork(conn)
                token = self._uow.set(opened)
                try:
                    yield conn
                finally:
                    self._uow.reset(token)
        except BaseException:
            if opened is not None and opened.on_rollback:
                self._write_after_rollback(opened.on_rollback)
            raise

    def unit_of_work(self) -> AbstractContextManager[Connection]:
        """Open (or join) the unit of work: every service call inside commits with it."""
        return self.transaction()

    def in_transaction(self) -> bool:
        """Whether this context holds an open unit of work on this store."""
        return self._uow.get() is not None

    def after_rollback(self, write: Callable[[Connection], None]) -> None:
        """Have ``write`` run in a fresh transaction should the open unit of work roll back
        (audit events of refusals and failures must outlive the rollback)."""
        uow = self._uow.get()
        if uow is not None:
            uow.on_rollback.append(write)

    def _write_after_rollback(self, writes: list[Callable[[Connection], None]]) -> None:
        try:
            with self.transaction() as conn:
                for write in writes:
                    write(conn)
        except Exception as exc:  # the original error matters more
            _log.warning(
                "could not record %d audit event(s) after a rollback: %s", len(writes), exc
            )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (takes no write lock on SQLite); inside an open unit of work it
        reads through that unit's connection (and so sees its uncommitted changes)."""
        uow = self._uow.get()
        if uow is not None:
            yield uow.conn
            return
        with (
            translate_errors(self._url),
            self._engine.connect().execution_options(**read_options()) as conn,
            conn.begin(),
        ):
            yield conn

    def get_info(self, key: str, conn: Connection | None = None) -> str | None:
        """A workspace fact (read through ``conn`` when given, e.g. inside a transaction)."""
        query = sa.select(workspace_info.c.value).where(workspace_info.c.key == key)
        if conn is not None:
            return conn.execute(query).scalar_one_or_none()
        with self.read() as own:
            return own.execute(query).scalar_one_or_none()

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
