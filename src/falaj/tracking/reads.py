"""Read helpers: rows of the tracking tables → the entities the API returns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.tracking.entities import LoggedModel, MetricPoint, Run, RunArtifact, RunInput
from falaj.tracking.errors import RunNotFoundError
from falaj.tracking.tables import (
    experiments,
    latest_metrics,
    logged_models,
    metrics,
    params,
    run_artifacts,
    run_inputs,
    runs,
    tags,
)

__all__ = ["load_run", "load_runs", "logged_model", "metric_history", "run_columns"]

_IN_CHUNK = 500


def run_columns() -> list[Any]:
    """The columns of a run row (runs joined with their experiment's name)."""
    return [*runs.c, experiments.c.name.label("experiment_name")]


def run_select() -> sa.Select[Any]:
    return sa.select(*run_columns()).join(experiments, experiments.c.id == runs.c.experiment_id)


def _value(v: float | None) -> float:
    return math.nan if v is None else float(v)


def load_run(conn: Connection, run_id: str) -> Run:
    row = conn.execute(run_select().where(runs.c.id == run_id)).first()
    if row is None:
        raise RunNotFoundError(f"run {run_id!r} does not exist")
    (run,) = load_runs(conn, [row], details=True)
    return run


def load_runs(conn: Connection, rows: Sequence[Any], *, details: bool = False) -> list[Run]:
    """Runs for ``rows`` (from :func:`run_select`), with params, latest metrics and tags."""
    ids = [r.id for r in rows]
    p: dict[str, dict[str, str]] = {i: {} for i in ids}
    m: dict[str, dict[str, float]] = {i: {} for i in ids}
    t: dict[str, dict[str, str]] = {i: {} for i in ids}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for r in conn.execute(sa.select(params).where(params.c.run_id.in_(chunk))):
            p[r.run_id][r.key] = r.value
        for r in conn.execute(
            sa.select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
                latest_metrics.c.run_id.in_(chunk)
            )
        ):
            m[r.run_id][r.key] = _value(r.value)
        for r in conn.execute(sa.select(tags).where(tags.c.run_id.in_(chunk))):
            t[r.run_id][r.key] = r.value
    out = []
    for r in rows:
        extra: dict[str, Any] = {}
        if details:
            extra = _details(conn, r.id)
        out.append(
            Run(
                id=r.id,
                experiment=r.experiment_name,
                name=r.name,
                status=r.status,
                start_time=r.start_time,
                end_time=r.end_time,
                parent_id=r.parent_id,
                params=dict(sorted(p[r.id].items())),
                metrics=dict(sorted(m[r.id].items())),
                tags=dict(sorted(t[r.id].items())),
                error=r.error,
                experiment_id=r.experiment_id,
                created_by=r.created_by,
                host=r.host,
                pid=r.pid,
                **extra,
            )
        )
    return out


def _details(conn: Connection, run_id: str) -> dict[str, Any]:
    artifacts = [
        RunArtifact(
            name=r.name,
            digest=r.digest,
            media_type=r.media_type,
            size=int(r.size),
            created_at=r.created_at,
        )
        for r in conn.execute(
            sa.select(run_artifacts)
            .where(run_artifacts.c.run_id == run_id)
            .order_by(run_artifacts.c.name)
        )
    ]
    models = [
        logged_model(r)
        for r in conn.execute(
            sa.select(logged_models)
            .where(logged_models.c.run_id == run_id)
            .order_by(logged_models.c.name)
        )
    ]
    inputs = [
        RunInput(dataset_version_id=r.dataset_version_id, context=r.context)
        for r in conn.execute(
            sa.select(run_inputs)
            .where(run_inputs.c.run_id == run_id)
            .order_by(run_inputs.c.dataset_version_id)
        )
    ]
    return {"artifacts": artifacts, "models": models, "inputs": inputs}


def logged_model(row: Any) -> LoggedModel:
    return LoggedModel(
        run_id=row.run_id,
        name=row.name,
        artifact_digest=row.artifact_digest,
        flavor=row.flavor,
        signature=row.signature,
        trusted=bool(row.trusted),
    )


def metric_history(conn: Connection, run_id: str, key: str) -> list[MetricPoint]:
    query = (
        sa.select(metrics.c.key, metrics.c.value, metrics.c.step, metrics.c.timestamp)
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.seq)
    )
    return [
        MetricPoint(key=r.key, value=_value(r.value), step=int(r.step), timestamp=r.timestamp)
        for r in conn.execute(query)
    ]
