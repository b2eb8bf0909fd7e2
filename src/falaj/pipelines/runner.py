"""The coordinator of one pipeline run: topological order, parallel branches, retries, cache.

Workers only compute; this loop (one thread) checks the cache, writes the step run (RUNNING)
before submitting a step to the executor, retries failures with exponential backoff and
completes every finished step run in one transaction with its outputs and lineage (see
:class:`~falaj.pipelines.recorder.StepRecorder`). While steps run on this machine, their logs
stream into the store (:mod:`falaj.pipelines.logstream`), so a killed run leaves each running
step's row and what it printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from falaj.pipelines.cache import cache_key
from falaj.pipelines.executors.base import Executor
from falaj.pipelines.graph import Pipeline, StepNode
from falaj.pipelines.logstream import LogStreamer
from falaj.pipelines.records import StepOutput, StepRun
from falaj.pipelines.task import NOTHING, StepInput, StepResult, StepTask
from falaj.store.schema import new_id

if TYPE_CHECKING:
    from falaj.pipelines.service import PipelineService

__all__ = ["Runner", "StepEvent"]


@dataclass(frozen=True)
class StepEvent:
    """Progress of one step: started, retrying, cached, succeeded or failed."""

    kind: str
    step: str
    pipeline_run_id: str
    cache_key: str
    step_run_id: str | None = None
    attempt: int = 1
    duration_s: float | None = None
    error: str | None = None
    cached_from: str | None = None


@dataclass
class _Attempt:
    node: StepNode
    step_run_id: str
    key: str
    inputs: dict[str, StepInput]
    input_digests: dict[str, str]
    attempt: int = 1
    first_started: Any = None
    results: list[StepResult] = field(default_factory=list)


class Runner:
    def __init__(
        self,
        service: PipelineService,
        pipe: Pipeline,
        run_id: str,
        executor: Executor,
        *,
        use_cache: bool,
        reuse: dict[str, StepRun],
        only: Iterable[str] | None = None,
        on_event: Callable[[StepEvent], None] | None = None,
        log_interval_s: float = 2.0,
    ) -> None:
        self.svc = service
        self.pipe = pipe
        self.run_id = run_id
        self.executor = executor
        self.use_cache = use_cache
        self.on_event = on_event
        self.done: dict[str, dict[str, StepOutput]] = {n: s.outputs for n, s in reuse.items()}
        wanted = set(only) if only is not None else set(pipe.order)
        self.pending = [n for n in pipe.order if n in wanted and n not in self.done]
        self.values: dict[str, Any] = {}
        self.failed: tuple[str, str] | None = None
        self.recorded: dict[str, StepRun] = {}
        # spool files are shared through the local disk: threads and local child processes
        self.log_interval_s = log_interval_s
        self._streams_logs = executor.in_process or executor.name.startswith("local")
        self.logs: LogStreamer | None = None

    # -- loop ----------------------------------------------------------------------------------
    def run(self) -> None:
        if self._streams_logs:
            self.logs = LogStreamer(self.svc.recorder, interval_s=self.log_interval_s)
        try:
            self._loop()
        finally:
            if self.logs is not None:
                self.logs.close()

    def _loop(self) -> None:
        futures: dict[Future[StepResult], _Attempt] = {}
        delayed: list[tuple[float, _Attempt]] = []
        while True:
            if self.failed is None:
                self._start_ready(futures)
            now = time.monotonic()
            for due, attempt in [d for d in delayed if d[0] <= now]:
                delayed.remove((due, attempt))
                self._submit(attempt, futures)
            if not futures and not delayed:
                break
            timeout = max(0.0, min(d[0] for d in delayed) - now) if delayed else None
            finished, _ = wait(list(futures), timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in finished:
                attempt = futures.pop(fut)
                result = fut.result()
                attempt.results.append(result)
                if result.ok:
                    self._succeeded(attempt, result)
                    continue
                options = attempt.node.step.options
                if attempt.attempt <= options.retries:
                    delay = options.retry_backoff * (2 ** (attempt.attempt - 1))
                    self._emit("retrying", attempt, error=result.error)
                    attempt.attempt += 1
                    delayed.append((time.monotonic() + delay, attempt))
                else:
                    self._failed(attempt, result)

    def _start_ready(self, futures: dict[Future[StepResult], _Attempt]) -> None:
        progressed = True
        running = {a.node.name for a in futures.values()}
        while progressed and self.failed is None:
            progressed = False
            for name in list(self.pending):
                node = self.pipe.nodes[name]
                if name in running or not node.upstream <= set(self.done):
                    continue
                self.pending.remove(name)
                attempt = self._prepare(node)
                if self._try_cache(attempt):
                    progressed = True
                    continue
                self._submit(attempt, futures)
                running.add(name)

    def _prepare(self, node: StepNode) -> _Attempt:
        digests: dict[str, str] = {}
        for arg, handle in node.inputs.items():
            digests[arg] = self.done[handle.step][handle.output].digest
        key = cache_key(
            node.step.function, node.step.code_hash, node.params, digests, node.step.options.outputs
        )
        return _Attempt(node=node, step_run_id=new_id(), key=key, inputs={}, input_digests=digests)

    def _try_cache(self, attempt: _Attempt) -> bool:
        if not (self.use_cache and attempt.node.step.options.cache):
            return False
        hit = self.svc.recorder.cached(attempt.key)
        if hit is None:
            return False
        recorded = self.svc.recorder.record_cached(
            self.run_id,
            attempt.node,
            attempt.step_run_id,
            hit,
            attempt.input_digests,
            self.executor.name,
        )
        self.done[attempt.node.name] = recorded.outputs
        self.recorded[attempt.node.name] = recorded
        attempt.key = recorded.cache_key  # with the dataset versions the step read, if any
        self._emit(
            "cached",
            attempt,
            step_run_id=recorded.id,
            cached_from=hit.id,
            duration=recorded.duration_s,
        )
        return True

    def _submit(self, attempt: _Attempt, futures: dict[Future[StepResult], _Attempt]) -> None:
        node = attempt.node
        if attempt.attempt == 1:
            self.svc.recorder.record_started(
                self.run_id,
                node,
                attempt.step_run_id,
                attempt.key,
                attempt.input_digests,
                self.executor.name,
            )
        if not attempt.inputs:
            for arg, handle in node.inputs.items():
                out = self.done[handle.step][handle.output]
                inp = StepInput(out.digest, out.materializer)
                if self.executor.in_process and out.digest in self.values:
                    inp.value = self.values[out.digest]
                else:
                    inp.data = self.svc.artifacts.get_bytes(out.digest)
                attempt.inputs[arg] = inp
        task = StepTask(
            step=node.step,
            node=node.name,
            pipeline_run_id=self.run_id,
            step_run_id=attempt.step_run_id,
            params=node.params,
            inputs=attempt.inputs,
            attempt=attempt.attempt,
            opener=self.svc.opener,
            workspace=self.svc.workspace if self.executor.in_process else None,
            keep_values=self.executor.in_process,
            log_spool=None if self.logs is None else self.logs.spool_for(attempt.step_run_id),
        )
        self._emit("started", attempt)
        futures[self.executor.submit(task, timeout=node.step.options.timeout)] = attempt

    # -- outcomes ------------------------------------------------------------------------------
    def _succeeded(self, attempt: _Attempt, result: StepResult) -> None:
        if self.logs is not None:
            self.logs.finished(attempt.step_run_id)
        recorded = self.svc.recorder.record(
            self.run_id,
            attempt.node,
            attempt.step_run_id,
            attempt.key,
            attempt.input_digests,
            attempt.results,
            self.executor.name,
        )
        self.done[attempt.node.name] = recorded.outputs
        self.recorded[attempt.node.name] = recorded
        attempt.key = recorded.cache_key  # with the dataset versions the step read, if any
        for out_name, value in result.values.items():
            if value is not NOTHING:
                self.values[recorded.outputs[out_name].digest] = value
        self._emit("succeeded", attempt, step_run_id=recorded.id, duration=recorded.duration_s)

    def _failed(self, attempt: _Attempt, result: StepResult) -> None:
        if self.logs is not None:
            self.logs.finished(attempt.step_run_id)
        recorded = self.svc.recorder.record(
            self.run_id,
            attempt.node,
            attempt.step_run_id,
            attempt.key,
            attempt.input_digests,
            attempt.results,
            self.executor.name,
        )
        self.recorded[attempt.node.name] = recorded
        error = result.error or "unknown error"
        if self.failed is None:
            self.failed = (attempt.node.name, error)
        self._emit(
            "failed", attempt, step_run_id=recorded.id, error=error, duration=recorded.duration_s
        )

    def _emit(
        self,
        kind: str,
        attempt: _Attempt,
        *,
        step_run_id: str | None = None,
        error: str | None = None,
        duration: float | None = None,
        cached_from: str | None = None,
    ) -> None:
        if self.on_event is None:
            return
        self.on_event(
            StepEvent(
                kind=kind,
                step=attempt.node.name,
                pipeline_run_id=self.run_id,
                cache_key=attempt.key,
                step_run_id=step_run_id or attempt.step_run_id,
                attempt=attempt.attempt,
                duration_s=duration,
                error=error,
                cached_from=cached_from,
            )
        )
