"""Rows of the pipelines tables ↔ records; statements run inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.governance.principal import Principal
from falaj.lineage.graph import Node, record_edge
from falaj.pipelines.dataset_reads import READ
from falaj.pipelines.records import PipelineRun, StepOutput, StepRun
from falaj.pipelines.tables import pipeline_runs, step_cache, step_outputs, step_runs
from falaj.store.dml import insert_ignore

__all__ = [
    "find_cached",
    "insert_step_run",
    "read_pipeline_run",
    "read_step_runs",
]


def read_step_runs(conn: Connection, where: Any) -> list[StepRun]:
    rows = conn.execute(
        sa.select(step_runs).where(where).order_by(step_runs.c.ended_at, step_runs.c.id)
    ).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    outs: dict[str, dict[str, StepOutput]] = {i: {} for i in ids}
    for o in conn.execute(sa.select(step_outputs).where(step_outputs.c.step_run_id.in_(ids))):
        outs[o.step_run_id][o.name] = StepOutput(o.name, o.digest, o.materializer, o.media_type)
    return [_step_run(r, outs[r.id]) for r in rows]


def _step_run(row: Any, outputs: dict[str, StepOutput]) -> StepRun:
    m = row._mapping
    return StepRun(
        id=m["id"],
        pipeline_run_id=m["pipeline_run_id"],
        step=m["step"],
        function=m["function"],
        status=m["status"],
        cache_key=m["cache_key"],
        code_hash=m["code_hash"],
        params=dict(m["params"] or {}),
        inputs=dict(m["inputs"] or {}),
        attempts=m["attempts"],
        executor=m["executor"],
        error=m["error"],
        log_digest=m["log_digest"],
        cached_from=m["cached_from"],
        created_by=m["created_by"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        outputs=outputs,
    )


def read_pipeline_run(conn: Connection, row: Any, *, with_steps: bool = True) -> PipelineRun:
    m = row._mapping
    steps = read_step_runs(conn, step_runs.c.pipeline_run_id == m["id"]) if with_steps else []
    return PipelineRun(
        id=m["id"],
        pipeline=m["pipeline"],
        source=m["source"],
        params=dict(m["params"] or {}),
        graph=dict(m["graph"] or {}),
        status=m["status"],
        executor=m["executor"],
        external_key=m["external_key"],
        error=m["error"],
        created_by=m["created_by"],
        started_at=m["started_at"],
        ended_at=m["ended_at"],
        steps=steps,
        owner_host=m["owner_host"],
        owner_pid=m["owner_pid"],
        heartbeat_at=m["heartbeat_at"],
    )


def find_cached(conn: Connection, key: str) -> StepRun | None:
    """The successful step run recorded for ``key``, with its outputs, if any."""
    step_run_id = conn.execute(
        sa.select(step_cache.c.step_run_id).where(step_cache.c.cache_key == key)
    ).scalar_one_or_none()
    if step_run_id is None:
        return None
    found = read_step_runs(conn, step_runs.c.id == step_run_id)
    return found[0] if found else None


def insert_step_run(
    conn: Connection,
    *,
    principal: Principal,
    values: Mapping[str, Any],
    outputs: Sequence[StepOutput],
    cacheable: bool,
    links: Sequence[tuple[str, str, str]],
    probe_key: str | None = None,
) -> None:
    """The step run row, its outputs, its cache entry and its lineage edges, all at once.

    ``probe_key`` (the static key of a step that read datasets by name) is pointed at this
    step run too, replacing the step run it pointed at (see :mod:`.dataset_reads`). A row
    written when the step started (status RUNNING) is completed in place.
    """
    started = conn.execute(
        sa.select(step_runs.c.id).where(
            step_runs.c.id == values["id"], step_runs.c.status == "RUNNING"
        )
    ).first()
    if started is None:
        conn.execute(sa.insert(step_runs).values(**values))
    else:
        changed = {k: v for k, v in values.items() if k != "id"}
        conn.execute(sa.update(step_runs).where(step_runs.c.id == values["id"]).values(**changed))
    if outputs:
        conn.execute(
            sa.insert(step_outputs),
            [
                {
                    "step_run_id": values["id"],
                    "name": o.name,
                    "digest": o.digest,
                    "materializer": o.materializer,
                    "media_type": o.media_type,
                }
                for o in outputs
            ],
        )
    if cacheable and values["status"] == "SUCCEEDED":
        insert_ignore(
            conn,
            step_cache,
            {"cache_key": values["cache_key"], "step_run_id": values["id"], "created_at": _now()},
        )
        if probe_key is not None and probe_key != values["cache_key"]:
            conn.execute(sa.delete(step_cache).where(step_cache.c.cache_key == probe_key))
            insert_ignore(
                conn,
                step_cache,
                {"cache_key": probe_key, "step_run_id": values["id"], "created_at": _now()},
            )
    me = Node("step_run", values["id"])
    record_edge(conn, Node("pipeline_run", values["pipeline_run_id"]), me, "contains", principal)
    for digest in sorted(set(values["inputs"].values())):
        record_edge(conn, Node("artifact", digest), me, "input", principal)
    if values.get("cached_from"):
        # The outputs were made by the original step run; this one reused them.
        record_edge(conn, Node("step_run", values["cached_from"]), me, "cached_as", principal)
    else:
        for o in outputs:
            record_edge(conn, me, Node("artifact", o.digest), "output", principal)
    for direction, kind, node_id in links:
        if direction == "in":
            record_edge(conn, Node(kind, node_id), me, "used", principal)
        elif direction == READ:
            record_edge(conn, Node(kind, node_id), me, READ, principal)
        else:
            record_edge(conn, me, Node(kind, node_id), "produced", principal)


def set_step_progress(
    conn: Connection, step_run_id: str, *, log_digest: str, seen_at: dt.datetime
) -> bool:
    """Point a RUNNING step run at its logs so far; False when it is no longer RUNNING."""
    result = conn.execute(
        sa.update(step_runs)
        .where(step_runs.c.id == step_run_id, step_runs.c.status == "RUNNING")
        .values(log_digest=log_digest, ended_at=seen_at)
    )
    return bool(result.rowcount)


def set_run_status(
    conn: Connection, run_id: str, status: str, *, error: str | None, ended: bool
) -> None:
    conn.execute(
        sa.update(pipeline_runs)
        .where(pipeline_runs.c.id == run_id)
        .values(status=status, error=error, ended_at=_now() if ended else None)
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
