"""Queued rows and how a batch of them is written: one transaction, ``executemany`` per table.

A queued row is a plain tuple (cheap to build on the caller's thread):

- ``(RUN, run_id, experiment_id, name, start_time, parent_id, details[, status, end_time,
  error])`` — a new run (ended already when a short run ends before its row was written)
- ``(METRIC, run_id, key, value, step, timestamp_seconds)``
- ``(PARAM, run_id, key, value)``
- ``(TAG, run_id, key, value)``

New runs are inserted first, each with its ``run.create`` audit event, so a run and its event are
committed together with the first batch that carries them. Metrics go to the append-only history
and, deduplicated per (run, key), to the latest-value table with an upsert that keeps the point
with the highest step (then the latest timestamp). Statements are built once per dialect and
reused, so a batch costs little more than its ``executemany`` calls.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.governance.audit import Actor, record_event
from falaj.processes import this_process
from falaj.store.batch_writer import Item
from falaj.tracking.tables import latest_metrics, metrics, params, runs, tags

__all__ = [
    "METRIC",
    "PARAM",
    "RUN",
    "TAG",
    "BatchCounts",
    "describe_item",
    "end_unwritten_run",
    "upsert_tags",
    "write_items",
]

METRIC = 0
PARAM = 1
TAG = 2
RUN = 3

_fromtimestamp = dt.datetime.fromtimestamp
_UTC = dt.UTC


@dataclass(frozen=True)
class BatchCounts:
    runs_created: int
    metrics: int
    params: int
    tags: int
    runs: tuple[str, ...]

    def plus(self, other: BatchCounts) -> BatchCounts:
        return BatchCounts(
            self.runs_created + other.runs_created,
            self.metrics + other.metrics,
            self.params + other.params,
            self.tags + other.tags,
            self.runs + tuple(r for r in other.runs if r not in self.runs),
        )

    def as_details(self) -> dict[str, Any]:
        return {
            "runs_created": self.runs_created,
            "metrics": self.metrics,
            "params": self.params,
            "tags": self.tags,
            "runs": list(self.runs[:20]),
            "run_count": len(self.runs),
        }


@dataclass(frozen=True)
class _Statements:
    insert_run: Any
    insert_metrics: Any
    upsert_latest: Any
    insert_params: Any
    upsert_tags: Any


@cache
def _statements(dialect: str) -> _Statements:
    from sqlalchemy.dialects import postgresql, sqlite  # here: `falaj runs list` needs neither

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    latest = insert(latest_metrics)
    excl = latest.excluded
    t = latest_metrics
    newer = sa.or_(
        excl.step > t.c.step,
        sa.and_(excl.step == t.c.step, excl.timestamp >= t.c.timestamp),
    )
    tag_stmt = insert(tags)
    return _Statements(
        insert_run=sa.insert(runs),
        insert_metrics=sa.insert(metrics),
        upsert_latest=latest.on_conflict_do_update(
            index_elements=[t.c.run_id, t.c.key],
            set_={"value": excl.value, "step": excl.step, "timestamp": excl.timestamp},
            where=newer,
        ),
        insert_params=insert(params).on_conflict_do_nothing(),
        upsert_tags=tag_stmt.on_conflict_do_update(
            index_elements=[tags.c.run_id, tags.c.key], set_={"value": tag_stmt.excluded.value}
        ),
    )


def write_items(conn: Connection, items: list[Item], *, actor: Actor, region: str) -> BatchCounts:
    """Write queued rows inside the caller's transaction; new runs are created by ``actor``."""
    run_rows: list[dict[str, Any]] = []
    host, pid = this_process()
    run_events: list[tuple[str, dict[str, Any]]] = []
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
        elif kind == RUN:
            experiment_id, name, start_time, parent_id, details = item[2:7]
            status, end_time, error = item[7:10] if len(item) > 7 else ("RUNNING", None, None)
            run_rows.append(
                {
                    "id": run_id,
                    "experiment_id": experiment_id,
                    "name": name,
                    "status": status,
                    "start_time": start_time,
                    "end_time": end_time,
                    "parent_id": parent_id,
                    "created_by": actor.principal.name,
                    "host": host,
                    "pid": pid,
                    "error": error,
                }
            )
            run_events.append((run_id, details))
        else:  # pragma: no cover - only this package builds items
            raise ValueError(f"unknown tracking row kind {kind!r}")
    st = _statements(conn.dialect.name)
    if run_rows:
        conn.execute(st.insert_run, run_rows)
        for run_id, details in run_events:
            record_event(
                conn,
                actor=actor,
                action="run.create",
                resource_type="run",
                resource_id=run_id,
                region=region,
                details=details,
            )
    if metric_rows:
        conn.execute(st.insert_metrics, metric_rows)
        conn.execute(st.upsert_latest, list(latest.values()))
    if param_rows:
        conn.execute(st.insert_params, param_rows)
    if tag_rows:
        conn.execute(st.upsert_tags, list(tag_rows.values()))
    return BatchCounts(
        len(run_rows), len(metric_rows), len(param_rows), len(tag_rows), tuple(run_ids)
    )


def describe_item(item: Item) -> str:
    """A queued row in words, for the report of a row the store refused."""
    kind = {METRIC: "metric", PARAM: "param", TAG: "tag", RUN: "run"}.get(item[0], "row")
    if item[0] == RUN:
        return f"run {item[1]} (name {str(item[3])[:60]!r})"
    return f"{kind} {str(item[2])[:60]!r} of run {item[1]}"


def end_unwritten_run(
    items: list[Item], run_id: str, status: str, end_time: dt.datetime, error: str | None
) -> bool:
    """Mark the still-queued creation row of ``run_id`` as ended; False when it was written."""
    for index, item in enumerate(items):
        if item[0] == RUN and item[1] == run_id:
            items[index] = (*item[:7], status, end_time, error)
            return True
    return False


def upsert_tags(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert tags, replacing the value of keys the run already has."""
    conn.execute(_statements(conn.dialect.name).upsert_tags, rows)
