"""``ws.tracking``: experiments, runs, batched logging, run search, logged models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from falaj.artifacts.digest import normalize_digest
from falaj.errors import AlreadyExistsError, FalajError, InvalidInputError
from falaj.governance.audit import Actor, record_event
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.service import ServiceContext
from falaj.store.batch_writer import BatchWriter, Item
from falaj.store.dml import insert_ignore
from falaj.store.schema import new_id, utcnow
from falaj.textcheck import check_text
from falaj.tracking import reads
from falaj.tracking.attach import RunAttachments
from falaj.tracking.entities import Experiment, LoggedModel, MetricPoint, Run, RunPage
from falaj.tracking.errors import (
    ExperimentNotFoundError,
    ModelNotFoundError,
    RunNotActiveError,
    RunNotFoundError,
    TrackingWriteError,
)
from falaj.tracking.rows import RUN, TAG, BatchCounts, describe_item, end_unwritten_run, write_items
from falaj.tracking.run import ActiveRun
from falaj.tracking.tables import experiments, logged_models, runs
from falaj.tracking.validation import (
    check_experiment_name,
    check_key,
    check_run_name,
    tag_text,
)

if TYPE_CHECKING:
    import pandas as pd

    from falaj.artifacts.service import ArtifactInfo, ArtifactService
    from falaj.tracking.imports import RunImport
    from falaj.tracking.models import LoadedModel

__all__ = ["TrackingService", "parse_model_uri"]

#: how long a missing parent run is waited for (another process may not have written it yet)
_PARENT_WAIT_S = 3.0
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
        self.writer = BatchWriter(
            self._persist,
            batch_size=context.settings.tracking_batch_size,
            name="falaj-tracking-writer",
            error_class=TrackingWriteError,
            describe=describe_item,
            in_foreign_transaction=context.store.in_transaction,
            at_exit=self._at_exit,
        )
        self._active: dict[str, ActiveRun] = {}
        #: who each open run of this process acts for (its rows are written as that principal)
        self._actors: dict[str, Actor] = {}
        self._experiments: dict[str, Experiment] = {}

    # -- experiments ---------------------------------------------------------------------------
    def create_experiment(self, name: str, *, description: str | None = None) -> Experiment:
        """Create an experiment; its name must be new."""
        name = check_experiment_name(name)
        check_text("description", description)
        if description is not None and len(description) > 10_000:
            raise InvalidInputError(
                f"description is {len(description)} characters long: at most 10,000 allowed"
            )
        with self.mutation(Action.EXPERIMENT_CREATE, "experiment", name) as m:
            exists = m.conn.execute(
                sa.select(experiments.c.id).where(experiments.c.name == name)
            ).first()
            if exists is not None:
                raise AlreadyExistsError(f"experiment {name!r} already exists")
            exp, _ = self._insert_experiment(m.conn, name, description)
        return exp

    def get_experiment(self, name: str) -> Experiment:
        self.authorize(Action.EXPERIMENT_READ, "experiment", str(name))
        with self.store.read() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
        if row is None:
            raise ExperimentNotFoundError(f"experiment {name!r} does not exist")
        return Experiment(**row._mapping)

    def list_experiments(self) -> list[Experiment]:
        self.authorize(Action.EXPERIMENT_READ, "experiment", "*")
        with self.store.read() as conn:
            rows = conn.execute(sa.select(experiments).order_by(experiments.c.name)).all()
        return [Experiment(**r._mapping) for r in rows]

    def _insert_experiment(
        self, conn: sa.Connection, name: str, description: str | None
    ) -> tuple[Experiment, bool]:
        """The experiment named ``name``, inserted unless a concurrent creator won; and whether
        this call inserted it."""
        values = {
            "id": new_id(),
            "name": name,
            "description": description,
            "created_by": self.principal.name,
            "created_at": utcnow(),
        }
        inserted = insert_ignore(conn, experiments, values)
        row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).one()
        return Experiment(**row._mapping), bool(inserted)

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
        # The run's logging is authorized here, on the caller's thread, once: its rows are
        # then written in the background as this actor and never refused there.
        actor = self.authorize(Action.RUN_CREATE, "run", run_id, details=details)
        self.authorize(Action.RUN_LOG, "run", run_id, details=details, actor=actor)
        if parent_run_id is not None:
            self._check_parent(parent_run_id)
        exp = self._experiment_for_run(experiment)
        self._actors[run_id] = actor
        self.writer.submit((RUN, run_id, exp.id, name, utcnow(), parent_run_id, details))
        if tag_items:
            self.writer.submit_many(tag_items)
        active = ActiveRun(self, run_id, exp.id, exp.name, name, parent_run_id, actor)
        self._active[run_id] = active
        return active

    def _experiment_for_run(self, name: str) -> Experiment:
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        with self.store.read() as conn:
            row = conn.execute(sa.select(experiments).where(experiments.c.name == name)).first()
        if row is not None:
            exp = Experiment(**row._mapping)
        else:
            # Created on first use. Two processes may race here: the loser inserts nothing and
            # so records no event (one experiment, one experiment.create event).
            actor = self.authorize(Action.EXPERIMENT_CREATE, "experiment", name)
            with self.store.transaction() as conn:
                exp, inserted = self._insert_experiment(conn, name, None)
                if inserted:
                    record_event(
                        conn,
                        actor=actor,
                        action=Action.EXPERIMENT_CREATE.value,
                        resource_type="experiment",
                        resource_id=name,
                        region=self.context.region,
                        details={"auto": True},
                    )
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
        """End a run of this process: its queued rows and its end in one transaction (a short
        run costs one transaction in all). Rows the store refuses are isolated by the writer;
        the run still ends, and the refusal is raised once it has."""
        actor = run.actor  # authorized when the run started: its own end is part of it
        refused: TrackingWriteError | None = None
        with self.writer.exclusive() as drain:
            items = drain()
            original = list(items)
            ended = utcnow()
            try:
                self._end_in_one_transaction(run.id, actor, status, ended, error, items)
            except RunNotActiveError:
                self.writer.requeue([i for i in original if not (i[0] == RUN and i[1] == run.id)])
                self._active.pop(run.id, None)  # ended from outside (falaj runs end)
                raise
            except BaseException as exc:
                self.writer.requeue(original)
                if not _content_refused(exc):
                    raise
                refused = self._flush_isolating()
                self._end_in_one_transaction(run.id, actor, status, ended, error, [])
        self._active.pop(run.id, None)
        self._actors.pop(run.id, None)
        if refused is not None:
            raise refused

    def _end_in_one_transaction(
        self,
        run_id: str,
        actor: Actor,
        status: str,
        ended: Any,
        error: str | None,
        items: list[Item],
    ) -> None:
        details = {"status": status}
        with self.mutation(
            Action.RUN_END, "run", run_id, details=details, actor=actor, authorized=True
        ) as m:
            # A short run whose row is still queued is inserted already ended.
            unwritten = end_unwritten_run(items, run_id, status, ended, error)
            if items:
                m.details.update(self._write_grouped(m.conn, items, actor).as_details())
            if not unwritten:
                updated = m.conn.execute(
                    _END_RUN,
                    {"rid": run_id, "new_status": status, "ended": ended, "err": error},
                ).rowcount
                if not updated:
                    raise RunNotActiveError(f"run {run_id} is not running any more")

    def _flush_isolating(self) -> TrackingWriteError | None:
        try:
            self.writer.flush()
        except TrackingWriteError as exc:
            return exc
        return None

    def _actor_of(self, run_id: str) -> Actor:
        actor = self._actors.get(run_id)
        return actor if actor is not None else self.actor()

    def _write(self, conn: sa.Connection, items: list[Item], actor: Actor) -> BatchCounts:
        return write_items(conn, items, actor=actor, region=self.context.region)

    def _write_grouped(
        self, conn: sa.Connection, items: list[Item], owner: Actor | None = None
    ) -> BatchCounts:
        """Write rows of several runs, each as the principal its run acts for; rows of runs not
        acting as ``owner`` get a ``run.log`` event of their own principal."""
        groups: dict[Actor, list[Item]] = {}
        for item in items:
            groups.setdefault(self._actor_of(item[1]), []).append(item)
        total: BatchCounts | None = None
        for actor, rows in groups.items():
            counts = self._write(conn, rows, actor)
            if actor != owner:
                record_event(
                    conn,
                    actor=actor,
                    action=Action.RUN_LOG.value,
                    resource_type="run",
                    resource_id=counts.runs[0] if len(counts.runs) == 1 else "batch",
                    region=self.context.region,
                    details=counts.as_details(),
                )
            total = counts if total is None else total.plus(counts)
        assert total is not None
        return total

    def _persist(self, items: list[Item]) -> None:
        """The writer's persist: one transaction per batch, rows attributed per run's principal.

        Permission was checked when each run started, on its caller's thread; nothing here is
        refused for authorization, so a batch is never retried for that."""
        with self.store.transaction() as conn:
            self._write_grouped(conn, items)

    def flush(self) -> None:
        """Write every queued row (of every run of this workspace) before returning."""
        self.writer.flush()

    def _at_exit(self) -> None:
        """Interpreter exit: runs left open are flushed and marked KILLED."""
        self.flush()
        self.end_open_runs("KILLED")

    def end_open_runs(self, status: str = "KILLED") -> int:
        """End every run this service started and that is still open; returns how many."""
        count = 0
        for active in list(self._active.values()):
            if not active.ended:
                active.end(status, error="the process ended the run before its code did")
                count += 1
        return count

    def end_run(self, run_id: str, status: str = "KILLED", *, reason: str = "") -> Run:
        """End a run left RUNNING (its process was killed): marks it ``status`` (KILLED or
        FAILED), audited as ``run.end``. A run still open in this process is ended through its
        handle (its queued rows are written first)."""
        if status not in ("KILLED", "FAILED"):
            raise InvalidInputError(
                f"status {status!r} is invalid: a run is ended from outside as KILLED or FAILED"
            )
        check_text("reason", reason, optional=False)
        if len(reason) > 2000:
            raise InvalidInputError(f"reason is {len(reason)} characters long: at most 2000")
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInputError(f"run id {run_id!r} is invalid: expected a run id string")
        details = {"status": status, "reason": reason, "ended_from_outside": True}
        actor = self.authorize(Action.RUN_END, "run", run_id, details=details)
        active = self._active.get(run_id)
        if active is not None and not active.ended:
            active.end(status, error=reason or "ended from outside its code")
            with machinery():
                return self.get_run(run_id)
        error = reason or f"ended as {status} by {actor.principal}: its process was gone"
        with self.mutation(
            Action.RUN_END, "run", run_id, details=details, actor=actor, authorized=True
        ) as m:
            row = self._require_run(m.conn, run_id)
            if row.status != "RUNNING":
                raise RunNotActiveError(f"run {run_id} has already ended ({row.status})")
            m.conn.execute(
                _END_RUN, {"rid": run_id, "new_status": status, "ended": utcnow(), "err": error}
            )
        with machinery():
            return self.get_run(run_id)

    def stale_runs(self, *, experiment: str | None = None) -> list[Run]:
        """Runs still RUNNING whose process is gone (same host, pid not alive)."""
        from falaj.processes import process_alive

        page = self.search_runs(
            "attributes.status = 'RUNNING'", experiment=experiment, max_results=1000
        )
        return [r for r in page.runs if process_alive(r.host, r.pid) is False]

    # -- reading -------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        """A run with its params, latest metrics, tags, artifacts, models and inputs."""
        self.authorize(Action.RUN_READ, "run", str(run_id))
        self._flush_for_read()
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

        self.authorize(Action.RUN_READ, "run", "*", details={"filter": str(filter)[:500]})
        self._flush_for_read()
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
        self.authorize(Action.RUN_READ, "run", str(run_id))
        self._flush_for_read()
        with self.store.read() as conn:
            self._require_run(conn, run_id)
            return reads.metric_history(conn, run_id, key)

    def _flush_for_read(self) -> None:
        """Reads see every row queued before them, except inside an open unit of work (which
        must not wait on the writer): those read what is committed plus the unit's own rows."""
        if not self.store.in_transaction():
            self.writer.flush()

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
        self.authorize(Action.RUN_LOG_ARTIFACT, "run", str(run_id), details={"name": str(name)})
        info = self._artifacts.put_file(Path(path))
        return self._attach_artifact(run_id, info, name, require_running=False, authorized=True)

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
        self.authorize(
            Action.RUN_READ, "run", ref.run_id if isinstance(ref, LoggedModel) else str(ref)[:200]
        )
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

        self.authorize(
            Action.MODEL_LOAD, "run", ref.run_id if isinstance(ref, LoggedModel) else str(ref)[:200]
        )
        with machinery():
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


def _content_refused(exc: BaseException) -> bool:
    """Whether a failed write was refused for the rows' content (worth isolating), not because
    the backend was unavailable (worth retrying as is)."""
    from falaj.store.batch_writer import is_unavailable

    return (
        isinstance(exc, Exception) and not isinstance(exc, FalajError) and not is_unavailable(exc)
    )
