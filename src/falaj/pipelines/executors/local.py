"""The local executor: steps in threads of this process, or each in a child process.

Independent branches run at the same time (up to ``max_workers``). A step with a timeout always
runs in a child process, which is killed when the time is up; ``processes=True`` runs every
step that way (a pool of at most ``max_workers`` spawned workers, one per step attempt).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from falaj.errors import InvalidInputError
from falaj.pipelines.errors import StepTimeoutError
from falaj.pipelines.task import StepResult, StepTask, execute

__all__ = ["LocalExecutor", "run_in_child"]


class LocalExecutor:
    """In-process threads (default) or spawned child processes (``processes=True``)."""

    in_process: bool

    def __init__(self, *, max_workers: int = 4, processes: bool = False) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidInputError(
                f"max_workers={max_workers!r} is invalid; expected an integer >= 1"
            )
        self.max_workers = max_workers
        self.processes = processes
        self.in_process = not processes
        self.name = "local-processes" if processes else "local"
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="falaj-step")

    def submit(self, task: StepTask, *, timeout: float | None = None) -> Future[StepResult]:
        if self.processes or timeout is not None:
            return self._pool.submit(run_in_child, task.for_remote(), timeout)
        return self._pool.submit(execute, task)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _child_main(conn: Connection, task: StepTask) -> None:
    try:
        result = execute(task)
    except BaseException as exc:  # pragma: no cover - execute() catches step errors itself
        result = StepResult.failure(task.node, exc, dt.datetime.now(dt.UTC))
    conn.send(result)
    conn.close()


def run_in_child(task: StepTask, timeout: float | None) -> StepResult:
    """Run one attempt in a spawned process; kill it after ``timeout`` seconds."""
    started = dt.datetime.now(dt.UTC)
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    proc: Any = ctx.Process(target=_child_main, args=(sender, task), daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            proc.kill()
            proc.join(5)
            return StepResult.failure(
                task.node,
                StepTimeoutError(f"step {task.node!r} timed out after {timeout:g} s"),
                started,
            )
        try:
            result: StepResult = receiver.recv()
        except EOFError:
            proc.join(5)
            return StepResult.failure(
                task.node,
                RuntimeError(f"the worker process of step {task.node!r} died ({proc.exitcode})"),
                started,
            )
        proc.join(5)
        return result
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
