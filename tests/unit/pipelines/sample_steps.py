"""Steps and pipelines the pipelines tests run (importable, so child processes and Ray can)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from falaj.pipelines import StepContext, pipeline, step


def _bump(counter: str) -> int:
    path = Path(counter)
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@step
def make_frame(rows: int = 4, counter: str = "") -> pd.DataFrame:
    if counter:
        _bump(counter)
    print(f"making {rows} rows")
    return pd.DataFrame({"x": list(range(rows)), "y": [float(i) * 0.5 for i in range(rows)]})


@step
def add_one(df: pd.DataFrame, counter: str = "") -> pd.DataFrame:
    if counter:
        _bump(counter)
    return df + 1


@step
def summarize(df: pd.DataFrame) -> dict[str, Any]:
    return {"rows": len(df), "x_sum": int(df["x"].sum())}


@step
def as_array(df: pd.DataFrame) -> np.ndarray:
    return df.to_numpy()


@step
def timed(seconds: float, label: str) -> dict[str, Any]:
    start = time.time()
    time.sleep(seconds)
    return {"label": label, "start": start, "end": time.time()}


@step
def join(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    return [a, b]


@pipeline
def diamond(seconds: float = 0.4) -> None:
    left = timed(seconds=seconds, label="left")
    right = timed.named("timed_right")(seconds=seconds, label="right")
    join(left, right)


@pipeline
def linear(rows: int = 4, counter: str = "") -> None:
    frame = make_frame(rows=rows, counter=counter)
    bigger = add_one(frame, counter=counter)
    summarize(bigger)


@step(retries=2, retry_backoff=0.01)
def flaky(counter: str, fail_times: int) -> int:
    n = _bump(counter)
    print(f"attempt {n}")
    if n <= fail_times:
        raise RuntimeError(f"flaky failure {n}")
    return n


@pipeline
def flaky_pipeline(counter: str = "", fail_times: int = 1) -> None:
    flaky(counter=counter, fail_times=fail_times)


@step(timeout=1.0)
def sleepy(seconds: float) -> int:
    time.sleep(seconds)
    return 1


@pipeline
def sleepy_pipeline(seconds: float = 30.0) -> None:
    sleepy(seconds=seconds)


@step
def gate(df: pd.DataFrame, flag: str) -> pd.DataFrame:
    """Fails while the flag file says 'fail' (to test resume)."""
    if Path(flag).read_text().strip() == "fail":
        raise ValueError("gate is closed")
    return df


@pipeline
def gated(flag: str = "", counter: str = "") -> None:
    frame = make_frame(rows=3, counter=counter)
    passed = gate(frame, flag=flag)
    summarize(passed)


@step
def with_context(ctx: StepContext, value: int) -> dict[str, Any]:
    ctx.used("dataset_version", "credit@1")
    ctx.log.info("context step %s", ctx.step)
    return {"step_run_id": ctx.step_run_id, "pipeline_run_id": ctx.pipeline_run_id, "value": value}


@pipeline
def context_pipeline() -> None:
    with_context(value=3)


class Opaque:
    def __init__(self, n: int) -> None:
        self.n = n


@step
def opaque() -> Opaque:
    return Opaque(1)


@step(trusted=True)
def opaque_trusted() -> Opaque:
    return Opaque(2)


@step(resources={"cpus": 1, "memory": "64MiB"})
def where_am_i(tag: str) -> dict[str, Any]:
    import os
    import sys

    resources: dict[str, float] = {}
    ray = sys.modules.get("ray")  # only when Ray runs the step: what Ray granted this task
    if ray is not None and ray.is_initialized():
        resources = dict(ray.get_runtime_context().get_assigned_resources())
    return {"pid": os.getpid(), "tag": tag, "start": time.time(), "resources": resources}


@pipeline
def ray_pipeline() -> None:
    frame = make_frame(rows=5)
    bigger = add_one(frame)
    summarize(bigger)
    where_am_i(tag="a")


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@step
def store_note(ctx: StepContext, text: str) -> dict[str, Any]:
    info = ctx.ws.artifacts.put_bytes(text.encode(), media_type="text/plain")
    return {"digest": info.digest, "principal": ctx.ws.principal.name}


@pipeline
def note_pipeline(text: str = "hello") -> None:
    store_note(text=text)


@step
def read_latest(ctx: StepContext, name: str = "loans", counter: str = "") -> dict[str, Any]:
    """Reads a registered dataset by name: the version it resolves to is in the cache key."""
    if counter:
        _bump(counter)
    frame = ctx.load_dataset(name)
    return {"rows": len(frame), "total": int(frame["amount"].sum())}


@step
def read_pinned(ctx: StepContext, ref: str = "loans@1", counter: str = "") -> dict[str, Any]:
    if counter:
        _bump(counter)
    return {"rows": len(ctx.load_dataset(ref))}


@pipeline
def reads_dataset(name: str = "loans", counter: str = "") -> None:
    read_latest(name=name, counter=counter)


@pipeline
def reads_pinned(ref: str = "loans@1", counter: str = "") -> None:
    read_pinned(ref=ref, counter=counter)


@step
def rendezvous(folder: str, label: str, other: str, timeout: float = 60.0) -> dict[str, Any]:
    """Arrive (write ``label``), then wait for ``other`` to arrive: both return only if they were
    running at the same time. Waits on the other's arrival, never on a duration; the timeout is
    only reached when the two did not run together (and then the step says so)."""
    here = Path(folder)
    (here / label).write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout
    while not (here / other).exists():
        if time.monotonic() > deadline:
            return {"label": label, "met": False}
        time.sleep(0.005)
    return {"label": label, "met": True, "pid": os.getpid()}


@pipeline
def meeting(folder: str, timeout: float = 60.0) -> None:
    left = rendezvous(folder=folder, label="left", other="right", timeout=timeout)
    right = rendezvous.named("rendezvous_right")(
        folder=folder, label="right", other="left", timeout=timeout
    )
    join(left, right)
