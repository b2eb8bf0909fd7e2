"""The Ray executor: each step attempt is a Ray task sized by the step's resources.

Joins the cluster at ``address`` (a ``ray://`` client address, ``auto``, or host:port), else
``FALAJ_RAY_ADDRESS``, else the workspace setting ``ray_address``; with none of them it starts a
local Ray runtime. When Ray is already initialized in this process it is reused as is.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from concurrent.futures import Future
from typing import Any

from falaj.errors import BackendUnavailableError
from falaj.pipelines.errors import StepTimeoutError
from falaj.pipelines.task import StepResult, StepTask, execute

__all__ = ["RayExecutor", "ray_options"]


def ray_options(task: StepTask) -> dict[str, Any]:
    """The Ray task options for a step: its resources, no Ray-level retries (Falaj retries)."""
    res = task.step.options.resources
    options: dict[str, Any] = {
        "num_cpus": res.cpus,
        "num_gpus": res.gpus,
        "max_retries": 0,
        "name": f"falaj:{task.node}",
    }
    if res.memory is not None:
        options["memory"] = res.memory
    return options


class RayExecutor:
    """Runs steps as Ray tasks (``num_cpus``/``num_gpus``/``memory`` from the step)."""

    name = "ray"
    in_process = False

    def __init__(self, address: str | None = None, **init_kwargs: Any) -> None:
        self.address = address or os.environ.get("FALAJ_RAY_ADDRESS") or None
        self._init_kwargs = init_kwargs
        self._started = False
        self._remote: Any = None

    def _ensure(self) -> Any:
        try:
            import ray
        except ImportError as exc:
            raise BackendUnavailableError(
                "the Ray executor needs ray: pip install 'falaj[ray]'"
            ) from exc
        if not ray.is_initialized():
            kwargs = dict(self._init_kwargs)
            kwargs.setdefault("include_dashboard", False)
            kwargs.setdefault("log_to_driver", False)
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.address or "a local runtime"
                raise BackendUnavailableError(
                    f"cannot start or join Ray at {where}: {exc}"
                ) from exc
            self._started = True
        if self._remote is None:
            self._remote = ray.remote(execute)
        return ray

    def submit(self, task: StepTask, *, timeout: float | None = None) -> Future[StepResult]:
        ray = self._ensure()
        remote_task = task.for_remote()
        ref = self._remote.options(**ray_options(remote_task)).remote(remote_task)
        future: Future[StepResult] = Future()
        started = dt.datetime.now(dt.UTC)

        def wait() -> None:
            try:
                ready, _ = ray.wait([ref], timeout=timeout)
                if not ready:
                    ray.cancel(ref, force=True)
                    future.set_result(
                        StepResult.failure(
                            task.node,
                            StepTimeoutError(f"step {task.node!r} timed out after {timeout:g} s"),
                            started,
                        )
                    )
                    return
                future.set_result(ray.get(ref))
            except Exception as exc:  # a dead worker, a lost node: the attempt failed
                future.set_result(StepResult.failure(task.node, exc, started))

        threading.Thread(target=wait, name=f"falaj-ray-{task.node}", daemon=True).start()
        return future

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
