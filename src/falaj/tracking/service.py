"""``ws.tracking``: experiments, runs, batched logging, run search, logged models."""

from __future__ import annotations

import atexit
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.artifacts.digest import normalize_digest
from falaj.errors import (
    AlreadyExistsError,
    InvalidInputError,
    PermissionDeniedError,
)
from falaj.governance.service import ServiceContext
from falaj.store.dml import insert_ignore
from falaj.store.schema import new_id, utcnow
from falaj.tracking import reads
from falaj.tracking.attach import RunAttachments
from falaj.tracking.entities import Experiment, LoggedModel, MetricPoint, Run, RunPage
from falaj.tracking.errors import (
    ExperimentNotFoundError,
    ModelNotFoundError,
    RunNotActiveError,
    RunNotFoundError,
)
from falaj.tracking.rows import RUN, TAG, BatchCounts, end_unwritten_run, write_items
from falaj.tracking.run import ActiveRun
from falaj.tracking.tables import experiments, logged_models, runs
from falaj.tracking.validation import (
    check_experiment_name,
    check_key,
    check_run_name,
    tag_text,
)
from falaj.tracking.writer import BatchWriter, Item

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactInfo, ArtifactService
    from falaj.tracking.imports import RunImport
    from falaj.tracking.models import LoadedModel

__all__ = ["TrackingService", "parse_model_uri"]

#: how long a missing parent run is waited for (another process may not have written it yet)
_PARENT_WAIT_S = 3.0
_open_services: weakref.WeakSet[TrackingService] = weakref.WeakSet()
_END_RUN = (
    sa.update(runs)
    .where(runs.c.id == sa.bindparam("rid"), runs.c.status == "RUNNING")
    .values(
        status=sa.bindparam("new_status"),
        end_time=sa.bindparam("ended", type_=runs.c.end_time.type),
        error=sa.bindparam("err"),
    )
)


class TrackingService(RunAttachments):
    """Experiments and runs; reached as ``ws.tracking`` (and ``ws.start_run``)."""

    def __init__(self, context: ServiceContext, artifacts: ArtifactService) -> None:
        super().__init__(context)
        self._artifacts = artifacts
        self.writer = BatchWriter(self._persist, batch_size=context.settings.tracking_batch_size)
        self._active: dict[str, ActiveRun] = {}
        self._experiments: dict[str, Experiment] = {}
        _open_services.add(self)

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, *, description: str | None = None) -> Experiment:
        """Create an experiment; its name must be new."""
        name = check_experiment_name(name)
        with self.mutation("experiment.create", "experiment", name) as m:
            exists = m.conn.execute(
                sa.select(experiments.c.id).where(experiments.c.name == name)
            ).first()
            if exists is not None:
                raise AlreadyExistsError(f"experiment {name!r} already exists")
            row = self._insert_experiment(m.conn, name, description)
        return row

    def get_experiment(self, name: str) -> Experiment:
        with self.store.read() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
        if row is None:
            raise ExperimentNotFoundError(f"experiment {name!r} does not exist")
        return Experiment(**row._mapping)

    def list_experiments(self) -> list[Experiment]:
        with self.store.read() as conn:
            rows = conn.execute(sa.select(experiments).order_by(experiments.c.name)).all()
        return [Experiment(**r._mapping) for r in rows]

    def _insert_experiment(
        self, conn: sa.Connection, name: str, description: str | None
    ) -> Experiment:
        values = {
            "id": new_id(),
            "name": name,
            "description": description,
            "created_by": self.principal.name,
            "created_at": utcnow(),
        }
        insert_ignore(conn, experiments, values)  # a concurrent creator may have won
        row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).one()
        return Experiment(**row._mapping)

    # -- runs ----------------------------------------------------------------------------------
    def start_run(
        self,
        experiment: str,
        *,
        run_name: str | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        """Start a run in ``experiment`` (created when missing); use it as a context manager.

        The run's row and its ``run.create`` audit event are written by the batched writer
        together with the run's first rows (at the latest when it ends or is flushed); reads
        through this service flush first, so they always see it.
        """
        experiment = check_experiment_name(experiment)
        run_id = new_id()
        name = check_run_name(run_name) if run_name is not None else f"run-{run_id[:8]}"
        if tags is not None and not isinstance(tags, dict):
            raise InvalidInputError(f"tags must be a dict of key to value, got {tags!r}")
        tag_items = [
            (TAG, run_id, check_key(k, "tag"), tag_text(k, v)) for k, v in (tags or {}).items()
        ]
        details: dict[str, Any] = {"experiment": experiment, "name": name}
        if parent_run_id is not None:
            details["parent_run_id"] = parent_run_id
        self._authorize("run.create", "run", run_id, details)
        if parent_run_id is not None:
            self._check_parent(parent_run_id)
        exp = self._experiment_for_run(experiment)
        self.writer.submit((RUN, run_id, exp.id, name, utcnow(), parent_run_id, details))
        if tag_items:
            self.writer.submit_many(tag_items)
        active = ActiveRun(self, run_id, exp.id, exp.name, name, parent_run_id)
        self._active[run_id] = active
        return active

    def _authorize(self, action: str, kind: str, resource_id: str, details: dict[str, Any]) -> None:
        try:
            self.context.authorizer.check(self.principal, action, f"{kind}:{resource_id}")
        except PermissionDeniedError as exc:
            self._record_outside(action, kind, resource_id, "denied", details, exc)
            raise

    def _experiment_for_run(self, name: str) -> Experiment:
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        with self.store.read() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
        if row is not None:
            exp = Experiment(**row._mapping)
        else:
            with self.mutation("experiment.create", "experiment", name) as m:
                exp = self._insert_experiment(m.conn, name, None)
        self._experiments[name] = exp
        return exp

    def _check_parent(self, parent_run_id: str) -> None:
        """The parent must exist. A parent started by another process may still sit in that
        process's write queue (written within its flush interval), so a missing parent is
        looked for again for a few seconds before it is refused."""
        if parent_run_id in self._active:
            return
        if not isinstance(parent_run_id, str):
            raise InvalidInputError(
                f"parent_run_id {parent_run_id!r} is invalid: expected a run id string"
            )
        self.writer.flush()
        deadline = time.monotonic() + _PARENT_WAIT_S
        while True:
            with self.store.read() as conn:
                found = conn.execute(sa.select(runs.c.id).where(runs.c.id == parent_run_id)).first()
            if found is not None:
                return
            if time.monotonic() >= deadline:
                raise RunNotFoundError(f"parent_run_id {parent_run_id!r}: no such run")
            time.sleep(0.05)

    def _end_run(self, run: ActiveRun, status: str, error: str | None) -> None:
        with self.writer.exclusive() as drain:
            items = drain()
            original = list(items)
            ended = utcnow()
            try:
                with self.mutation("run.end", "run", run.id, details={"status": status}) as m:
                    # A short run whose row is still queued is inserted already ended.
                    unwritten = end_unwritten_run(items, run.id, status, ended, error)
                    if items:
                        counts = self._write(m.conn, items)
                        m.details.update(counts.as_details())
                    if not unwritten:
                        updated = m.conn.execute(
                            _END_RUN,
                            {"rid": run.id, "new_status": status, "ended": ended, "err": error},
                        ).rowcount
                        if not updated:
                            raise RunNotActiveError(f"run {run.id} is not running any more")
            except BaseException:
                self.writer.requeue(original)
                raise
        self._active.pop(run.id, None)

    def _write(self, conn: sa.Connection, items: list[Item]) -> BatchCounts:
        return write_items(conn, items, principal=self.principal, region=self.context.region)

    def _persist(self, items: list[Item]) -> None:
        run_ids = {item[1] for item in items}
        resource = next(iter(run_ids)) if len(run_ids) == 1 else "batch"
        with self.mutation("run.log", "run", resource) as m:
            m.details.update(self._write(m.conn, items).as_details())

    def flush(self) -> None:
        """Write every queued row (of every run of this workspace) before returning."""
        self.writer.flush()

    def end_open_runs(self, status: str = "KILLED") -> int:
        """End every run this service started and that is still open; returns how many."""
        count = 0
        for active in list(self._active.values()):
            if not active.ended:
                active.end(status, error="the process ended the run before its code did")
                count += 1
        return count

    # -- reading -------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics, tags, artifacts, models and inputs."""
        self.writer.flush()
        with self.store.read() as conn:
            return reads.load_run(conn, run_id)

    def search_runs(
        self,
        filter: str = "",
        *,
        experiment: str | None = None,
        order_by: list[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """Runs matching ``filter`` (see :mod:`falaj.tracking.search`), one page at a time."""
        from falaj.tracking.query import search

        self.writer.flush()
        with self.store.read() as conn:
            return search(
                conn,
                filter,
                experiment=experiment,
                order_by=order_by,
                max_results=max_results,
                page_token=page_token,
            )

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point logged for ``key`` in the run, by step then time."""
        self.writer.flush()
        with self.store.read() as conn:
            self._require_run(conn, run_id)
            return reads.metric_history(conn, run_id, key)

    # -- importing -----------------------------------------------------------------------------
    def import_run(self, spec: RunImport) -> str:
        """Import a finished run (original times, status, full metric history); returns its id."""
        from falaj.tracking.imports import import_run

        return import_run(self, spec)

    def find_imported(self, tag_key: str) -> dict[str, str]:
        """``{source id: run id}`` for runs imported with the source tag ``tag_key``."""
        from falaj.tracking.imports import find_imported

        return find_imported(self, tag_key)

    def import_artifact(self, run_id: str, path: str | Path, name: str) -> ArtifactInfo:
        """Attach a file to an existing (possibly ended) run, e.g. while importing it."""
        info = self._artifacts.put_file(Path(path))
        return self._attach_artifact(run_id, info, name, require_running=False)

    def import_model(
        self,
        run_id: str,
        model: Any,
        name: str = "model",
        *,
        input_example: pd.DataFrame | None = None,
        flavor: str | None = None,
        trusted: bool = False,
    ) -> LoggedModel:
        """Log a model on an existing (possibly ended) run, e.g. while importing it."""
        return self._log_model(
            run_id,
            model,
            name,
            input_example=input_example,
            flavor=flavor,
            trusted=trusted,
            require_running=False,
        )

    def get_logged_model(self, ref: LoggedModel | str) -> LoggedModel:
        """Resolve a LoggedModel, ``runs:/<run_id>/<name>`` or an artifact digest."""
        if isinstance(ref, LoggedModel):
            return ref
        if not isinstance(ref, str):
            raise InvalidInputError(
                f"model reference {ref!r} is invalid: expected a LoggedModel, "
                "'runs:/<run_id>/<name>' or a sha256 digest"
            )
        with self.store.read() as conn:
            if ref.startswith("runs:/"):
                run_id, name = parse_model_uri(ref)
                query = sa.select(logged_models).where(
                    logged_models.c.run_id == run_id, logged_models.c.name == name
                )
            else:
                digest = normalize_digest(ref)
                query = (
                    sa.select(logged_models)
                    .where(logged_models.c.artifact_digest == digest)
                    .order_by(logged_models.c.created_at)
                    .limit(1)
                )
            row = conn.execute(query).first()
        if row is None:
            raise ModelNotFoundError(f"no logged model matches {ref!r}")
        return reads.logged_model(row)

    def load_model(self, ref: LoggedModel | str, *, trusted: bool = False) -> LoadedModel:
        """Load a logged model; a pickle-based model needs ``trusted=True``."""
        from falaj.tracking.models import unpack_model

        logged = self.get_logged_model(ref)
        data = self._artifacts.get_bytes(logged.artifact_digest)
        return unpack_model(data, trusted=trusted)


def parse_model_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<name>`` → (run_id, name)."""
    rest = uri[len("runs:/") :] if uri.startswith("runs:/") else None
    parts = rest.split("/") if rest is not None else []
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise InvalidInputError(
            f"model URI {uri!r} is invalid: expected 'runs:/<run_id>/<model name>'"
        )
    return parts[0], parts[1]


@atexit.register
def _end_open_runs_at_exit() -> None:
    """Interpreter exit: runs left open are flushed and marked KILLED (nothing logged is lost)."""
    for service in list(_open_services):
        try:
            service.flush()
            service.end_open_runs("KILLED")
        except Exception:  # exiting: the writer's own atexit hook reports what was lost
            continue
