"""Schema migrations with Alembic, applied programmatically.

Each capability package owns a branch of revisions (branch label = package name) rooted at the
foundation revision, so capabilities evolve their tables independently; ``upgrade`` applies every
head. Concurrent upgrades are serialized: an advisory lock on PostgreSQL, a file lock next to the
database on SQLite.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from alembic.config import Config

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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("version_table", VERSION_TABLE)
    cfg.attributes["connection"] = connection
    return cfg


def head_revisions() -> set[str]:
    """The revisions the code expects (one head per capability branch).

    Read from the revision files' ``revision``/``down_revision`` assignments without importing
    Alembic, so opening an up-to-date workspace stays cheap; a test checks it agrees with
    Alembic's own view.
    """
    return set(_heads_from_files())


@lru_cache(maxsize=1)
def _heads_from_files() -> frozenset[str]:
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (_MIGRATIONS / "versions").glob("*.py"):
        values = _module_constants(path)
        revision = values.get("revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        down = values.get("down_revision")
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
    return frozenset(revisions - parents)


def _module_constants(path: Path) -> dict[str, object]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    values: dict[str, object] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return values


def alembic_heads() -> set[str]:
    """The heads as Alembic computes them (slower: imports Alembic and every revision)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a fresh database)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(VERSION_TABLE):
            return set()
        rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {str(r[0]) for r in rows}


def is_up_to_date(engine: Engine) -> bool:
    return current_heads(engine) == head_revisions()


def upgrade(engine: Engine, revision: str = "heads", *, lock_path: Path | None = None) -> None:
    """Apply migrations up to ``revision`` (default: every head)."""
    with _exclusive(engine, lock_path), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        from alembic import command

        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str, *, lock_path: Path | None = None) -> None:
    """Revert migrations down to ``revision`` (used by migration tests and operators)."""
    with _exclusive(engine, lock_path), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        from alembic import command

        command.downgrade(alembic_config(conn), revision)


@contextmanager
def _exclusive(engine: Engine, lock_path: Path | None) -> Iterator[None]:
    if engine.dialect.name != "sqlite" or lock_path is None:
        yield
        return
    from filelock import FileLock

    with FileLock(str(lock_path), timeout=120):
        yield
