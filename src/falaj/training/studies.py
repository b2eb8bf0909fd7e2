"""Optuna studies stored in the workspace's metadata database.

``optuna.storages.RDBStorage`` on ``settings.metadata_url``: Optuna's own tables (``studies``,
``trials``... and its ``alembic_version``; Falaj's migrations use ``falaj_alembic_version``, so
the two never collide) live beside Falaj's, so workers on several machines that reach the same
PostgreSQL database share one study. On SQLite the engine gets the same 60 s busy timeout as the
metadata store and no heartbeat thread is started (``heartbeat_interval`` unset), so workers
queue on the write lock instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import make_url

from falaj.errors import BackendUnavailableError
from falaj.store.engine import SQLITE_BUSY_TIMEOUT_MS, masked_url
from falaj.training.errors import StudyNotFoundError

__all__ = ["load_study", "open_storage", "storage_url", "study_storage"]


def storage_url(metadata_url: str) -> str:
    """The SQLAlchemy URL Optuna should use for ``metadata_url`` (psycopg 3 on PostgreSQL)."""
    url = make_url(metadata_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def open_storage(metadata_url: str) -> Any:
    """A new Optuna RDBStorage on the workspace's metadata database (dispose its engine after;
    :func:`study_storage` does)."""
    import optuna

    key = storage_url(metadata_url)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    engine_kwargs: dict[str, Any] = {}
    if key.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        engine_kwargs["pool_pre_ping"] = True
    try:
        return optuna.storages.RDBStorage(key, engine_kwargs=engine_kwargs)
    except Exception as exc:  # sqlalchemy / optuna errors: the database is the problem
        raise BackendUnavailableError(
            f"cannot open the study storage in {masked_url(metadata_url)}: {exc}"
        ) from exc


@contextmanager
def study_storage(metadata_url: str) -> Iterator[Any]:
    """The study storage for the duration of a block; its connections are closed after."""
    storage = open_storage(metadata_url)
    try:
        yield storage
    finally:
        storage.engine.dispose()


def load_study(storage: Any, study_name: str, *, sampler: Any = None, pruner: Any = None) -> Any:
    """An existing study by name, from an open storage or a metadata URL (raises
    :class:`StudyNotFoundError`)."""
    import optuna

    where = masked_url(storage) if isinstance(storage, str) else "the study storage"
    if isinstance(storage, str):
        storage = open_storage(storage)
    try:
        return optuna.load_study(
            study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
        )
    except KeyError:
        raise StudyNotFoundError(f"study {study_name!r} does not exist in {where}") from None
