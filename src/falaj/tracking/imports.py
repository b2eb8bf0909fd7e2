"""Bringing finished runs in from elsewhere (MLflow...): ``ws.tracking.import_run``.

An imported run keeps its original name, status, start/end times and full metric history; it is
written in one transaction with its ``run.import`` audit event. Importers make themselves
idempotent with a source tag (e.g. ``mlflow.run_id``): :meth:`TrackingService.find_imported`
maps source ids to the runs already imported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.governance.authorization import Action
from falaj.store.batch_writer import Item
from falaj.store.schema import new_id
from falaj.tracking.entities import STATUSES
from falaj.tracking.rows import METRIC, PARAM, TAG
from falaj.tracking.tables import runs, tags
from falaj.tracking.validation import (
    check_experiment_name,
    check_key,
    check_run_name,
    metric_step,
    metric_value,
    param_text,
    tag_text,
)

if TYPE_CHECKING:
    from falaj.tracking.service import TrackingService

__all__ = ["RunImport", "find_imported", "import_run"]

_CHUNK = 20_000


@dataclass
class RunImport:
    """A finished run to import; ``metrics`` holds (key, value, step, epoch seconds) points."""

    experiment: str
    name: str
    status: str
    start_time: dt.datetime
    end_time: dt.datetime | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int, float]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    parent_id: str | None = None
    error: str | None = None


def import_run(service: TrackingService, spec: RunImport) -> str:
    """Write ``spec`` as a new run; returns its id. Everything is checked before anything is
    written."""
    experiment = check_experiment_name(spec.experiment)
    name = check_run_name(spec.name)
    if spec.status not in STATUSES:
        raise InvalidInputError(
            f"status {spec.status!r} of imported run {name!r} is invalid: expected one of "
            f"{', '.join(STATUSES)}"
        )
    for label, value in (("start_time", spec.start_time), ("end_time", spec.end_time)):
        if value is not None and (not isinstance(value, dt.datetime) or value.tzinfo is None):
            raise InvalidInputError(
                f"{label} {value!r} of imported run {name!r}: expected a timezone-aware datetime"
            )
    run_id = new_id()
    actor = service.authorize(Action.RUN_IMPORT, "run", run_id, details={"name": name})
    items: list[Item] = [
        (PARAM, run_id, check_key(k, "param"), param_text(k, v)) for k, v in spec.params.items()
    ]
    items += [(TAG, run_id, check_key(k, "tag"), tag_text(k, v)) for k, v in spec.tags.items()]
    items += [
        (
            METRIC,
            run_id,
            check_key(key, "metric"),
            metric_value(key, value),
            metric_step(key, step),
            float(ts),
        )
        for key, value, step, ts in spec.metrics
    ]
    if spec.parent_id is not None:
        service._check_parent(spec.parent_id)
    exp = service._experiment_for_run(experiment)
    service.flush()
    details = {
        "experiment": experiment,
        "name": name,
        "params": len(spec.params),
        "metrics": len(spec.metrics),
        "tags": len(spec.tags),
    }
    with service.mutation(
        Action.RUN_IMPORT, "run", run_id, details=details, actor=actor, authorized=True
    ) as m:
        m.conn.execute(
            sa.insert(runs).values(
                id=run_id,
                experiment_id=exp.id,
                name=name,
                status=spec.status,
                start_time=spec.start_time,
                end_time=spec.end_time,
                parent_id=spec.parent_id,
                created_by=service.principal.name,
                error=spec.error,
            )
        )
        for start in range(0, len(items), _CHUNK):
            service._write(m.conn, items[start : start + _CHUNK], actor)
    return run_id


def find_imported(service: TrackingService, tag_key: str) -> dict[str, str]:
    """``{tag value: run id}`` for every run carrying ``tag_key`` (the importer's source id)."""
    check_key(tag_key, "tag")
    service.authorize(Action.RUN_READ, "run", "*")
    service.flush()
    with service.store.read() as conn:
        rows = conn.execute(sa.select(tags.c.value, tags.c.run_id).where(tags.c.key == tag_key))
        return {value: run_id for value, run_id in rows}
