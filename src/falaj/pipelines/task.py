"""One step execution as data: what a worker receives and what it sends back.

:func:`execute` runs wherever the executor puts it (a thread, a child process, a Ray worker):
it decodes the inputs, calls the function with the step context, captures the output streams
and encodes the results. It never touches the metadata store; the coordinator records results.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from falaj.pipelines.capture import capture_output
from falaj.pipelines.context import StepContext
from falaj.pipelines.materializers import Materialized, materialize, unmaterialize
from falaj.pipelines.step import Step

__all__ = ["NOTHING", "StepInput", "StepResult", "StepTask", "execute"]


class _Nothing:
    def __repr__(self) -> str:
        return "NOTHING"

    def __reduce__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


@dataclass
class StepInput:
    """An upstream output: its digest and bytes, or (in process) the live value."""

    digest: str
    materializer: str
    data: bytes | None = None
    value: Any = NOTHING


@dataclass
class StepTask:
    step: Step
    node: str
    pipeline_run_id: str
    step_run_id: str
    params: dict[str, Any]
    inputs: dict[str, StepInput]
    attempt: int = 1
    opener: Callable[[], Any] | None = None
    workspace: Any = None  # only for in-process execution
    keep_values: bool = False
    #: a local file the step's output is appended to as it is written (streamed logs)
    log_spool: str | None = None

    def for_remote(self) -> StepTask:
        """A copy safe to ship to another process (no live objects)."""
        return StepTask(
            step=self.step,
            node=self.node,
            pipeline_run_id=self.pipeline_run_id,
            step_run_id=self.step_run_id,
            params=self.params,
            inputs={k: StepInput(v.digest, v.materializer, v.data) for k, v in self.inputs.items()},
            attempt=self.attempt,
            opener=self.opener,
            workspace=None,
            keep_values=False,
            log_spool=self.log_spool,
        )


@dataclass
class StepResult:
    node: str
    ok: bool
    started_at: dt.datetime
    ended_at: dt.datetime
    logs: str
    outputs: dict[str, Materialized] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_type: str | None = None
    traceback: str | None = None
    links: list[tuple[str, str, str]] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)

    @classmethod
    def failure(
        cls, node: str, error: BaseException, started: dt.datetime, logs: str = ""
    ) -> StepResult:
        return cls(
            node=node,
            ok=False,
            started_at=started,
            ended_at=dt.datetime.now(dt.UTC),
            logs=logs,
            error=f"{type(error).__name__}: {error}",
            error_type=type(error).__name__,
        )


def execute(task: StepTask) -> StepResult:
    """Run one step attempt; never raises for the step's own errors (they go in the result)."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    step = task.step
    ctx = StepContext(
        pipeline_run_id=task.pipeline_run_id,
        step_run_id=task.step_run_id,
        step=task.node,
        attempt=task.attempt,
        _workspace=task.workspace,
        _opener=task.opener,
    )
    outputs: dict[str, Materialized] = {}
    values: dict[str, Any] = {}
    error: BaseException | None = None
    tb: str | None = None
    with capture_output(task.log_spool) as buffer:
        try:
            kwargs = dict(task.params)
            for name, inp in task.inputs.items():
                if inp.value is not NOTHING:
                    kwargs[name] = inp.value
                else:
                    assert inp.data is not None
                    kwargs[name] = unmaterialize(
                        inp.materializer, inp.data, trusted=step.options.trusted
                    )
            if step.context_param is not None:
                kwargs[step.context_param] = ctx
            result = step.fn(**kwargs)
            names = step.options.outputs
            if len(names) == 1:
                produced = {names[0]: result}
            else:
                if not isinstance(result, tuple | list) or len(result) != len(names):
                    raise TypeError(
                        f"step {task.node!r} declares outputs {list(names)} but returned "
                        f"{type(result).__name__}; return a tuple of {len(names)} values"
                    )
                produced = dict(zip(names, result, strict=True))
            for out_name, value in produced.items():
                outputs[out_name] = materialize(
                    value,
                    trusted=step.options.trusted,
                    where=f"step {task.node!r} output {out_name!r}",
                )
                if task.keep_values:
                    values[out_name] = value
        except Exception as exc:
            error = exc
            tb = traceback.format_exc()
            buffer.write(tb)
        finally:
            ctx.close()
    ended = dt.datetime.now(dt.UTC)
    return StepResult(
        node=task.node,
        ok=error is None,
        started_at=started,
        ended_at=ended,
        logs=buffer.getvalue(),
        outputs=outputs if error is None else {},
        values=values if error is None else {},
        error=None if error is None else f"{type(error).__name__}: {error}",
        error_type=None if error is None else type(error).__name__,
        traceback=tb,
        links=list(ctx.links),
        timing={"seconds": time.perf_counter() - t0},
    )
