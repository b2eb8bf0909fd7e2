"""The one interface every executor implements."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol, runtime_checkable

from falaj.pipelines.task import StepResult, StepTask

__all__ = ["Executor"]


@runtime_checkable
class Executor(Protocol):
    """Runs step attempts and reports each as a future :class:`StepResult`.

    ``in_process`` executors may receive live input values and the caller's workspace; others
    get bytes and re-open the workspace in the worker. A future never raises for the step's own
    error (it is in the result); a timeout becomes a failed result too.
    """

    name: str
    in_process: bool

    def submit(self, task: StepTask, *, timeout: float | None = None) -> Future[StepResult]: ...

    def close(self) -> None: ...
