"""The Ray executor against a real local Ray runtime (started once for this module)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from falaj.pipelines.executors.ray import RayExecutor, ray_options
from falaj.pipelines.task import StepTask
from falaj.workspace import Workspace
from tests.unit.pipelines import sample_steps as s


@pytest.fixture(scope="module")
def ray_runtime() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def test_steps_run_as_ray_tasks_in_worker_processes(ray_runtime: Any, ws: Workspace) -> None:
    run = ws.pipelines.run(s.ray_pipeline, executor=RayExecutor())
    assert run.status == "SUCCEEDED"
    assert {st.executor for st in run.steps} == {"ray"}
    summary = run.latest("summarize")
    assert summary is not None
    assert ws.pipelines.load_output(summary.id) == {"rows": 5, "x_sum": 15}
    where = run.latest("where_am_i")
    assert where is not None
    placed = ws.pipelines.load_output(where.id)
    assert placed["pid"] != os.getpid()
    # the step's resources={"cpus": 1, "memory": "64MiB"} reached Ray's scheduler
    assert placed["resources"] == {"CPU": 1.0, "memory": float(64 * 1024**2)}


def test_ray_rerun_is_served_from_the_shared_cache(ray_runtime: Any, ws: Workspace) -> None:
    first = ws.pipelines.run(s.ray_pipeline, executor=RayExecutor())
    second = ws.pipelines.run(s.ray_pipeline, executor=RayExecutor())
    assert [st.status for st in second.steps] == ["CACHED"] * len(first.steps)


def test_ray_step_failure_and_timeout_fail_the_run(ray_runtime: Any, ws: Workspace) -> None:
    from falaj.pipelines.errors import StepFailedError

    with pytest.raises(StepFailedError, match=r"step 'sleepy' failed: StepTimeoutError"):
        ws.pipelines.run(s.sleepy_pipeline, params={"seconds": 60.0}, executor=RayExecutor())


def test_step_resources_become_ray_task_options() -> None:
    task = StepTask(
        step=s.where_am_i.with_options(resources={"cpus": 2, "gpus": 1, "memory": "1GiB"}),
        node="w",
        pipeline_run_id="p",
        step_run_id="r",
        params={},
        inputs={},
    )
    assert ray_options(task) == {
        "num_cpus": 2.0,
        "num_gpus": 1.0,
        "memory": 1024**3,
        "max_retries": 0,
        "name": "falaj:w",
    }
