"""Schema migrations with Alembic, applied programmatically.

Each capability package owns a branch of revisions (branch label = package name) rooted at the
foundation revision, so capabilities evolve their tables independently; ``upgrade`` applies every
head. Concurrent upgrades are serialized: an advisory lock on PostgreSQL, a file lock next to the
database on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current_heads",
    "downgrade",
    "head_revisions",
    "is_up_to_date",
    "upgrade",
]

VERSION_TABLE = "falaj_alembic_version"
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x46414C414A  # "FALAJ"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("version_table", VERSION_TABLE)
    cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    """The revisions the code expects (one head per capability branch)."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a fresh database)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return set(context.get_current_heads())


def is_up_to_date(engine: Engine) -> bool:
    return current_heads(engine) == head_revisions()


def upgrade(engine: Engine, revision: str = "heads", *, lock_path: Path | None = None) -> None:
    """Apply migrations up to ``revision`` (default: every head)."""
    with _exclusive(engine, lock_path), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str, *, lock_path: Path | None = None) -> None:
    """Revert migrations down to ``revision`` (used by migration tests and operators)."""
    with _exclusive(engine, lock_path), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        command.downgrade(alembic_config(conn), revision)


@contextmanager
def _exclusive(engine: Engine, lock_path: Path | None) -> Iterator[None]:
    if engine.dialect.name != "sqlite" or lock_path is None:
        yield
        return
    from filelock import FileLock

    with FileLock(str(lock_path), timeout=120):
        yield
