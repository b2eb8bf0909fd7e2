"""Queued rows and how a batch of them is written: one transaction, ``executemany`` per table.

A queued row is a plain tuple (cheap to build on the caller's thread):

- ``(METRIC, run_id, key, value, step, timestamp_seconds)``
- ``(PARAM, run_id, key, value)``
- ``(TAG, run_id, key, value)``

Metrics go to the append-only history and, deduplicated per (run, key), to the latest-value
table with an upsert that keeps the point with the highest step (then the latest timestamp).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from falaj.store.dml import insert_ignore
from falaj.tracking.tables import latest_metrics, metrics, params, tags
from falaj.tracking.writer import Item

__all__ = ["METRIC", "PARAM", "TAG", "BatchCounts", "write_items"]

METRIC = 0
PARAM = 1
TAG = 2

_fromtimestamp = dt.datetime.fromtimestamp
_UTC = dt.UTC


@dataclass(frozen=True)
class BatchCounts:
    metrics: int
    params: int
    tags: int
    runs: tuple[str, ...]

    def as_details(self) -> dict[str, Any]:
        shown = list(self.runs[:20])
        return {
            "metrics": self.metrics,
            "params": self.params,
            "tags": self.tags,
            "runs": shown,
            "run_count": len(self.runs),
        }


def write_items(conn: Connection, items: list[Item]) -> BatchCounts:
    """Write queued rows inside the caller's transaction."""
    metric_rows: list[dict[str, Any]] = []
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    param_rows: list[dict[str, Any]] = []
    tag_rows: dict[tuple[str, str], dict[str, Any]] = {}
    run_ids: dict[str, None] = {}
    for item in items:
        kind = item[0]
        run_id = item[1]
        run_ids[run_id] = None
        if kind == METRIC:
            _, _, key, value, step, ts = item
            if value != value:  # NaN is stored as NULL on every backend
                value = None
            row = {
                "run_id": run_id,
                "key": key,
                "value": value,
                "step": step,
                "timestamp": _fromtimestamp(ts, _UTC),
            }
            metric_rows.append(row)
            current = latest.get((run_id, key))
            if current is None or (step, row["timestamp"]) >= (
                current["step"],
                current["timestamp"],
            ):
                latest[(run_id, key)] = row
        elif kind == PARAM:
            param_rows.append({"run_id": run_id, "key": item[2], "value": item[3]})
        elif kind == TAG:
            tag_rows[(run_id, item[2])] = {"run_id": run_id, "key": item[2], "value": item[3]}
        else:  # pragma: no cover - only this package builds items
            raise ValueError(f"unknown tracking row kind {kind!r}")
    if metric_rows:
        conn.execute(sa.insert(metrics), metric_rows)
        _upsert_latest(conn, list(latest.values()))
    if param_rows:
        insert_ignore(conn, params, param_rows)
    if tag_rows:
        upsert_tags(conn, list(tag_rows.values()))
    return BatchCounts(len(metric_rows), len(param_rows), len(tag_rows), tuple(run_ids))


def _dialect_insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _upsert_latest(conn: Connection, rows: list[dict[str, Any]]) -> None:
    stmt = _dialect_insert(conn, latest_metrics)
    excluded = stmt.excluded
    t = latest_metrics
    newer = sa.or_(
        excluded.step > t.c.step,
        sa.and_(excluded.step == t.c.step, excluded.timestamp >= t.c.timestamp),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.run_id, t.c.key],
        set_={"value": excluded.value, "step": excluded.step, "timestamp": excluded.timestamp},
        where=newer,
    )
    conn.execute(stmt, rows)


def upsert_tags(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert tags, replacing the value of keys the run already has."""
    stmt = _dialect_insert(conn, tags)
    stmt = stmt.on_conflict_do_update(
        index_elements=[tags.c.run_id, tags.c.key], set_={"value": stmt.excluded.value}
    )
    conn.execute(stmt, rows)
