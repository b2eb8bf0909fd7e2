"""``ws.pipelines``: run, resume and inspect pipelines; run one step for an orchestrator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from falaj.artifacts.service import ArtifactService
from falaj.errors import ConflictError, InvalidInputError
from falaj.governance.authorization import Action
from falaj.governance.context import machinery
from falaj.governance.principal import Principal
from falaj.governance.service import Service, ServiceContext
from falaj.pipelines import repository as repo
from falaj.pipelines.context import StepWorkspace
from falaj.pipelines.errors import (
    PipelineDefinitionError,
    PipelineRunNotFoundError,
    RunStateError,
    StepFailedError,
)
from falaj.pipelines.executors.base import Executor
from falaj.pipelines.graph import Pipeline, PipelineDef
from falaj.pipelines.logstream import clean_stale_spools
from falaj.pipelines.materializers import unmaterialize
from falaj.pipelines.ownership import Heartbeat, RunOwner, driving, liveness, this_process
from falaj.pipelines.recorder import StepRecorder
from falaj.pipelines.records import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    PipelineRun,
    StepRun,
)
from falaj.pipelines.runner import Runner, StepEvent
from falaj.pipelines.spec import check_params, load_pipeline
from falaj.pipelines.tables import pipeline_runs, step_runs
from falaj.store.dml import insert_ignore
from falaj.store.prefix import resolve_prefix
from falaj.store.schema import new_id, utcnow

if TYPE_CHECKING:
    from falaj.pipelines.schedules import ScheduleService

__all__ = ["PipelineService"]

_RUN_STATES = (RUNNING, SUCCEEDED, FAILED)

PipelineLike = Pipeline | PipelineDef | str
ExecutorLike = Executor | str | None


class PipelineService(Service):
    """Run pipelines, record step runs with lineage, serve cached steps, resume failures."""

    #: the time source of heartbeats and owner checks (tests inject a fake clock)
    clock: Callable[[], dt.datetime] = staticmethod(utcnow)
    #: seconds between heartbeats of a running pipeline
    heartbeat_interval: float = 10.0
    #: a heartbeat older than this means the owner on another host is gone
    stale_after: dt.timedelta = dt.timedelta(seconds=60)

    def __init__(
        self,
        context: ServiceContext,
        artifacts: ArtifactService,
        *,
        workspace: StepWorkspace | None = None,
        opener: Callable[[Principal], Callable[[], StepWorkspace]] | None = None,
    ) -> None:
        super().__init__(context)
        self.artifacts = artifacts
        self._workspace = workspace
        self._opener = opener
        clean_stale_spools(artifacts.objects.clock(), artifacts.objects.stale_after_s)

    @cached_property
    def recorder(self) -> StepRecorder:
        """Records step runs for the runner (outputs, logs, row, cache entry, lineage)."""
        return StepRecorder(self)

    @property
    def opener(self) -> Callable[[], StepWorkspace] | None:
        """Opens this workspace again (in worker processes), acting as the principal of the
        current call, if the workspace can be shared."""
        return None if self._opener is None else self._opener(self.principal)

    @property
    def workspace(self) -> StepWorkspace | None:
        return self._workspace

    @cached_property
    def schedules(self) -> ScheduleService:
        from falaj.pipelines.schedules import ScheduleService

        return ScheduleService(self.context, self)

    # -- running -------------------------------------------------------------------------------
    def run(
        self,
        pipeline: PipelineLike,
        *,
        params: Mapping[str, Any] | None = None,
        executor: ExecutorLike = None,
        use_cache: bool = True,
        on_event: Callable[[StepEvent], None] | None = None,
        external_key: str | None = None,
    ) -> PipelineRun:
        """Run every step; returns the finished run or raises :class:`StepFailedError`."""
        pipe = self._resolve(pipeline, params)
        runner_executor, owned = self._executor(executor)
        try:
            run_id = self._start_run(pipe, runner_executor.name, external_key)
            self._drive(pipe, run_id, runner_executor, use_cache, {}, None, on_event)
        finally:
            if owned:
                runner_executor.close()
        return self.get_run(run_id)

    def resume(
        self,
        run_id: str,
        *,
        pipeline: Pipeline | PipelineDef | None = None,
        executor: ExecutorLike = None,
        use_cache: bool = True,
        on_event: Callable[[StepEvent], None] | None = None,
        force: bool = False,
    ) -> PipelineRun:
        """Re-run a FAILED run from its failed step(s), reusing what already succeeded.

        ``force`` also resumes a run left RUNNING by a process that died.
        """
        run = self.get_run(run_id)
        run_id = run.id  # the full id when a prefix was given
        if run.status == RUNNING and not force:
            raise RunStateError(
                f"pipeline run {run_id} is RUNNING; if the process running it died, resume "
                "it with force=True (CLI: --force)"
            )
        if run.status not in (FAILED, RUNNING):
            raise RunStateError(
                f"pipeline run {run_id} is {run.status}; only a FAILED run can be resumed"
            )
        pipe = self._rebuild(run, pipeline)
        if pipe.name != run.pipeline:
            raise PipelineDefinitionError(
                f"pipeline run {run_id} is a run of pipeline {run.pipeline!r}; pipeline "
                f"{pipe.name!r} cannot resume it"
            )
        if run.status == RUNNING:
            self._refuse_live_owner(run)
        reuse = self._completed(run, pipe)
        runner_executor, owned = self._executor(executor)
        try:
            with self.mutation("pipeline.run.resume", "pipeline_run", run_id) as m:
                self._claim(m.conn, run)
                repo.set_run_status(m.conn, run_id, RUNNING, error=None, ended=False)
            self._drive(pipe, run_id, runner_executor, use_cache, reuse, None, on_event)
        finally:
            if owned:
                runner_executor.close()
        return self.get_run(run_id)

    def run_step(
        self,
        source: str,
        step: str,
        *,
        run_key: str,
        params: Mapping[str, Any] | None = None,
        use_cache: bool = True,
        executor: ExecutorLike = None,
        on_event: Callable[[StepEvent], None] | None = None,
    ) -> StepRun:
        """Run one step of the pipeline run identified by ``run_key`` (for Airflow/Kubeflow).

        The pipeline run is created on first use of ``run_key``; the step's inputs come from
        the store (the upstream steps must have run under the same key).
        """
        if not isinstance(run_key, str) or not run_key or len(run_key) > 300:
            raise InvalidInputError(f"run_key {run_key!r} is invalid; expected 1-300 characters")
        pipe = load_pipeline(source, params, allowed_modules=self.context.settings.step_modules)
        pipe.node(step)
        run_id = self._run_for_key(pipe, run_key)
        run = self.get_run(run_id)
        reuse = self._completed(run, pipe)
        missing = sorted(u for u in pipe.nodes[step].upstream if u not in reuse)
        if missing:
            raise ConflictError(
                f"step {step!r} of pipeline run {run_id} (key {run_key!r}) needs upstream "
                f"step(s) {missing} to succeed first"
            )
        runner_executor, owned = self._executor(executor)
        try:
            with self.mutation("pipeline.run.resume", "pipeline_run", run_id) as m:
                m.conn.execute(
                    sa.update(pipeline_runs)
                    .where(pipeline_runs.c.id == run_id)
                    .values(**self._owner_values())
                )
                repo.set_run_status(m.conn, run_id, RUNNING, error=None, ended=False)
            self._drive(pipe, run_id, runner_executor, use_cache, reuse, [step], on_event)
        finally:
            if owned:
                runner_executor.close()
        latest = self.get_run(run_id).latest(step)
        assert latest is not None
        return latest

    def _drive(
        self,
        pipe: Pipeline,
        run_id: str,
        executor: Executor,
        use_cache: bool,
        reuse: dict[str, StepRun],
        only: list[str] | None,
        on_event: Callable[[StepEvent], None] | None,
    ) -> None:
        runner = Runner(
            self,
            pipe,
            run_id,
            executor,
            use_cache=use_cache,
            reuse=reuse,
            only=only,
            on_event=on_event,
        )
        try:
            shared = not isinstance(self.store.engine.pool, StaticPool)
            interval = self.heartbeat_interval if shared else None
            with Heartbeat(run_id, lambda: self._beat(run_id), interval):
                runner.run()
        except BaseException as exc:
            self._finish(run_id, FAILED, f"interrupted: {type(exc).__name__}: {exc}")
            raise
        if runner.failed is not None:
            step, error = runner.failed
            message = f"step {step!r} failed: {error}"
            self._finish(run_id, FAILED, message)
            raise StepFailedError(
                f"pipeline run {run_id} failed: {message} "
                f"(fix it, then `falaj pipeline resume {run_id}`)",
                run_id=run_id,
                step=step,
            )
        complete = set(runner.done) >= set(pipe.order)
        if not complete:
            # Orchestrators run steps in separate processes: whichever finishes last sees
            # every other step's committed row and closes the run.
            complete = set(self._completed(self.get_run(run_id), pipe)) >= set(pipe.order)
        self._finish(run_id, SUCCEEDED if complete else RUNNING, None, ended=complete)

    # -- recording -----------------------------------------------------------------------------
    def _start_run(self, pipe: Pipeline, executor: str, external_key: str | None) -> str:
        run_id = new_id()
        with self.mutation(
            "pipeline.run.start", "pipeline_run", run_id, details={"pipeline": pipe.name}
        ) as m:
            m.conn.execute(
                sa.insert(pipeline_runs).values(
                    **self._run_row(run_id, pipe, executor, external_key)
                )
            )
        return run_id

    def _run_row(
        self, run_id: str, pipe: Pipeline, executor: str, external_key: str | None
    ) -> dict[str, Any]:
        return {
            "id": run_id,
            "pipeline": pipe.name,
            "source": pipe.source,
            "params": pipe.params,
            "graph": pipe.describe(),
            "status": RUNNING,
            "executor": executor,
            "external_key": external_key,
            "error": None,
            "created_by": self.principal.name,
            "started_at": utcnow(),
            "ended_at": None,
            **self._owner_values(),
        }

    # -- ownership -----------------------------------------------------------------------------
    def _owner_values(self) -> dict[str, Any]:
        host, pid = this_process()
        return {"owner_host": host, "owner_pid": pid, "heartbeat_at": self.clock()}

    def _beat(self, run_id: str) -> None:
        host, pid = this_process()
        with self.store.transaction() as conn:
            conn.execute(
                sa.update(pipeline_runs)
                .where(
                    pipeline_runs.c.id == run_id,
                    pipeline_runs.c.owner_host == host,
                    pipeline_runs.c.owner_pid == pid,
                )
                .values(heartbeat_at=self.clock())
            )

    def _refuse_live_owner(self, run: PipelineRun) -> None:
        owner = RunOwner(run.owner_host, run.owner_pid, run.heartbeat_at)
        host, pid = this_process()
        if owner.host == host and owner.pid == pid:
            alive = f"this process ({pid}) is running it" if driving(run.id) else None
        else:
            alive = liveness(owner, host=host, now=self.clock(), stale_after=self.stale_after)
        if alive is not None:
            raise RunStateError(
                f"pipeline run {run.id} is RUNNING and its owner is alive: {alive}; resuming "
                "it now would run the same steps twice at once. Wait for it to finish, or stop "
                "that process first"
            )

    def _claim(self, conn: sa.Connection, run: PipelineRun) -> None:
        """Take the run over from the owner we saw, unless another process took it first."""
        cols = pipeline_runs.c
        seen = [
            cols.status == run.status,
            cols.owner_host.is_(None)
            if run.owner_host is None
            else cols.owner_host == run.owner_host,
            cols.owner_pid.is_(None) if run.owner_pid is None else cols.owner_pid == run.owner_pid,
            cols.heartbeat_at.is_(None)
            if run.heartbeat_at is None
            else cols.heartbeat_at == run.heartbeat_at,
        ]
        claimed = conn.execute(
            sa.update(pipeline_runs).where(cols.id == run.id, *seen).values(**self._owner_values())
        )
        if claimed.rowcount != 1:
            raise RunStateError(
                f"pipeline run {run.id} was taken over by another process while this one was "
                f"resuming it; see `falaj pipeline show {run.id}`"
            )

    def _run_for_key(self, pipe: Pipeline, run_key: str) -> str:
        def lookup(conn: sa.Connection) -> str | None:
            return conn.execute(
                sa.select(pipeline_runs.c.id).where(
                    pipeline_runs.c.pipeline == pipe.name,
                    pipeline_runs.c.external_key == run_key,
                )
            ).scalar_one_or_none()

        with self.store.read() as conn:
            found = lookup(conn)
        if found is not None:
            return found
        run_id = new_id()
        with self.mutation(
            "pipeline.run.start", "pipeline_run", run_id, details={"pipeline": pipe.name}
        ) as m:
            insert_ignore(m.conn, pipeline_runs, self._run_row(run_id, pipe, "local", run_key))
            winner = lookup(m.conn)
            assert winner is not None
            m.resource_id = winner
        return winner

    def _finish(self, run_id: str, status: str, error: str | None, *, ended: bool = True) -> None:
        with self.mutation(
            "pipeline.run.finish", "pipeline_run", run_id, details={"status": status}
        ) as m:
            repo.set_run_status(m.conn, run_id, status, error=error, ended=ended)

    # -- reading -------------------------------------------------------------------------------
    def get_run(self, run_id: str) -> PipelineRun:
        """A pipeline run by id, or by a unique prefix of it (as list tables print ids)."""
        self.authorize(Action.PIPELINE_READ, "pipeline_run", str(run_id))
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)
            ).one_or_none()
            if row is None:
                full = resolve_prefix(conn, pipeline_runs.c.id, run_id, "pipeline run id")
                if full is not None:
                    row = conn.execute(
                        sa.select(pipeline_runs).where(pipeline_runs.c.id == full)
                    ).one()
            if row is None:
                raise PipelineRunNotFoundError(f"pipeline run {run_id!r} does not exist")
            return repo.read_pipeline_run(conn, row)

    def list_runs(
        self, *, pipeline: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[PipelineRun]:
        """Pipeline runs, newest first (without their step runs; use :meth:`get_run`)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"limit={limit!r} is invalid; expected an integer >= 1")
        self.authorize(Action.PIPELINE_READ, "pipeline_run", "*")
        query = sa.select(pipeline_runs).order_by(pipeline_runs.c.started_at.desc()).limit(limit)
        if pipeline is not None:
            query = query.where(pipeline_runs.c.pipeline == pipeline)
        if status is not None:
            if status.upper() not in _RUN_STATES:
                raise InvalidInputError(
                    f"status={status!r} is invalid; expected one of {', '.join(_RUN_STATES)}"
                )
            query = query.where(pipeline_runs.c.status == status.upper())
        with self.store.read() as conn:
            return [repo.read_pipeline_run(conn, r, with_steps=False) for r in conn.execute(query)]

    def get_step_run(self, step_run_id: str) -> StepRun:
        """A step run by id, or by a unique prefix of it (as ``pipeline show`` prints ids)."""
        self.authorize(Action.PIPELINE_READ, "step_run", str(step_run_id))
        with self.store.read() as conn:
            found = repo.read_step_runs(conn, step_runs.c.id == step_run_id)
            if not found:
                full = resolve_prefix(conn, step_runs.c.id, step_run_id, "step run id")
                if full is not None:
                    found = repo.read_step_runs(conn, step_runs.c.id == full)
        if not found:
            raise PipelineRunNotFoundError(f"step run {step_run_id!r} does not exist")
        return found[0]

    def load_output(
        self, step_run_id: str, output: str = "output", *, trusted: bool = False
    ) -> Any:
        """The value of a step run's output, read back through its materializer."""
        run = self.get_step_run(step_run_id)
        if output not in run.outputs:
            raise InvalidInputError(
                f"step run {step_run_id} has no output {output!r} (outputs: {sorted(run.outputs)})"
            )
        out = run.outputs[output]
        with machinery():
            data = self.artifacts.get_bytes(out.digest)
        return unmaterialize(out.materializer, data, trusted=trusted)

    def logs(self, step_run_id: str) -> str:
        """What the step printed and logged (all attempts); a CACHED step run shows the logs of
        the step run it was served from."""
        run = self.get_step_run(step_run_id)
        if run.log_digest is None:
            return self.logs(run.cached_from) if run.cached_from else ""
        with machinery():
            data = self.artifacts.get_bytes(run.log_digest)
        return data.decode("utf-8", errors="replace")

    # -- helpers -------------------------------------------------------------------------------
    def _resolve(self, pipeline: PipelineLike, params: Mapping[str, Any] | None) -> Pipeline:
        if isinstance(pipeline, Pipeline):
            if params:
                raise InvalidInputError(
                    f"pipeline {pipeline.name!r} is already built; pass params when building it"
                )
            return pipeline
        if isinstance(pipeline, PipelineDef):
            return pipeline.build(**check_params(params))
        if isinstance(pipeline, str):
            return load_pipeline(
                pipeline, params, allowed_modules=self.context.settings.step_modules
            )
        raise InvalidInputError(
            f"pipeline {pipeline!r} is invalid; expected a Pipeline, a @pipeline function, a "
            "YAML path or 'module:attr'"
        )

    def _rebuild(self, run: PipelineRun, pipeline: Pipeline | PipelineDef | None) -> Pipeline:
        if pipeline is not None:
            return pipeline if isinstance(pipeline, Pipeline) else pipeline.build(**run.params)
        if run.source is None:
            raise InvalidInputError(
                f"pipeline run {run.id} was started from an in-memory Pipeline; pass "
                "pipeline=... to resume it"
            )
        return load_pipeline(
            run.source, run.params, allowed_modules=self.context.settings.step_modules
        )

    @staticmethod
    def _completed(run: PipelineRun, pipe: Pipeline) -> dict[str, StepRun]:
        reuse: dict[str, StepRun] = {}
        for name in pipe.order:
            latest = run.latest(name)
            if latest is not None and latest.done:
                reuse[name] = latest
        return reuse

    def _executor(self, executor: ExecutorLike) -> tuple[Executor, bool]:
        from falaj.pipelines.executors.local import LocalExecutor

        if executor is None or executor == "local":
            return LocalExecutor(), True
        if executor == "processes":
            return LocalExecutor(processes=True), True
        if executor == "ray":
            from falaj.pipelines.executors.ray import RayExecutor

            return RayExecutor(address=self.context.settings.ray_address), True
        if not isinstance(executor, Executor):
            raise InvalidInputError(
                f"executor {executor!r} is unknown; expected 'local', 'processes', 'ray' or an "
                "Executor (e.g. LocalExecutor(max_workers=8))"
            )
        return executor, False
