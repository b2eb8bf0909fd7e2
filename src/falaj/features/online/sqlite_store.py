"""The embedded online store: one SQLite file, one WITHOUT ROWID table keyed by (view, key)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from falaj.errors import BackendUnavailableError
from falaj.features.online.base import OnlineRow

__all__ = ["SqliteOnlineStore"]

_CHUNK = 900  # bound parameters per statement, well under SQLite's limit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_features (
    view TEXT NOT NULL,
    key TEXT NOT NULL,
    ts REAL NOT NULL,
    payload BLOB NOT NULL,
    PRIMARY KEY (view, key)
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO online_features (view, key, ts, payload) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (view, key) DO UPDATE SET ts = excluded.ts, payload = excluded.payload "
    "WHERE excluded.ts >= online_features.ts"
)


class SqliteOnlineStore:
    """Bulk writes with ``executemany`` in one transaction; reads by primary key, one query.

    One connection guarded by a lock (reads are tens of microseconds; a server's threads take
    turns). WAL mode, so a materialization in another process does not block readers.
    """

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self._path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendUnavailableError(
                f"online store {self._path} cannot be opened: {exc}"
            ) from exc
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        return "sqlite"

    @property
    def path(self) -> Path:
        return self._path

    def write(self, view: str, rows: Sequence[OnlineRow]) -> int:
        if not rows:
            return 0
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(_UPSERT, [(view, k, ts, p) for k, ts, p in rows])
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        return len(rows)

    def read(self, view: str, keys: Sequence[str]) -> dict[str, tuple[float, bytes]]:
        out: dict[str, tuple[float, bytes]] = {}
        with self._lock:
            if len(keys) == 1:
                row = self._conn.execute(
                    "SELECT ts, payload FROM online_features WHERE view = ? AND key = ?",
                    (view, keys[0]),
                ).fetchone()
                if row is not None:
                    out[keys[0]] = (row[0], row[1])
                return out
            for start in range(0, len(keys), _CHUNK):
                part = list(dict.fromkeys(keys[start : start + _CHUNK]))
                marks = ",".join("?" * len(part))
                for key, ts, payload in self._conn.execute(
                    f"SELECT key, ts, payload FROM online_features WHERE view = ? AND key IN ({marks})",  # noqa: E501
                    (view, *part),
                ):
                    out[key] = (ts, payload)
        return out

    def drop_view(self, view: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM online_features WHERE view = ?", (view,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteOnlineStore({str(self._path)!r})"
