"""Pipelines benchmark: Falaj's local executor against Prefect 3, same 5 trivial steps, same run.

Measured:

1. per-step overhead of the local executor on the embedded store (a 50-step chain of trivial
   steps, cache off: everything Falaj does per step — cache key, execution, materializing,
   artifact writes, the step-run transaction with lineage — divided by the steps);
2. a cached re-run of the 5-step pipeline in process (median of 10);
3. a whole ``falaj pipeline run`` process for the 5 steps, interpreter start included: a first
   run and a cached re-run (median of 3 each);
4. the same 5-step flow in Prefect 3 (tasks with an INPUTS cache policy), first and cached
   re-run, each a whole ``python flow.py`` process in the virtual environment ``.venv-prefect``
   (created here when missing; Prefect is not a Falaj dependency).

Targets (from the issue): < 20 ms per step; cached re-run < 0.3 s in process; the whole Falaj
process at least 20x faster than Prefect's. Run: ``python -m benchmarks.pipelines``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._peer import run_peer

ROOT = Path(__file__).resolve().parents[1]
PREFECT_VENV = ROOT / ".venv-prefect"
FALAJ = str(Path(sys.executable).with_name("falaj"))
SOURCE = "benchmarks._pipeline_steps:five"
CHAIN = 50

PREFECT_FLOW = """
from prefect import flow, task
from prefect.cache_policies import INPUTS


@task(cache_policy=INPUTS, persist_result=True)
def first(x: int) -> int:
    return x + 1


@task(cache_policy=INPUTS, persist_result=True)
def second(x: int) -> int:
    return x * 2


@task(cache_policy=INPUTS, persist_result=True)
def third(x: int) -> int:
    return x - 3


@task(cache_policy=INPUTS, persist_result=True)
def fourth(x: int) -> int:
    return x * x


@task(cache_policy=INPUTS, persist_result=True)
def fifth(x: int) -> dict:
    return {"result": x}


@flow
def five(start: int = 1) -> dict:
    return fifth(fourth(third(second(first(start)))))


if __name__ == "__main__":
    print(five())
"""


def _timed_process(
    argv: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{Path(argv[-1]).name} exited {proc.returncode}:\n{proc.stderr[-2000:]}"
        )
    return elapsed


def falaj_in_process(tmp: Path) -> dict[str, float]:
    from benchmarks._pipeline_steps import chain, five
    from falaj.workspace import Workspace

    out: dict[str, float] = {}
    with Workspace.init(tmp / "in-process") as ws:
        ws.pipelines.run(five, use_cache=False)  # warm imports and the first transactions
        start = time.perf_counter()
        ws.pipelines.run(chain, params={"length": CHAIN}, use_cache=False)
        out["per_step_ms"] = (time.perf_counter() - start) / CHAIN * 1000
        times = []
        for _ in range(10):
            start = time.perf_counter()
            run = ws.pipelines.run(five)
            times.append(time.perf_counter() - start)
            assert [s.status for s in run.steps] == ["CACHED"] * 5
        out["cached_rerun_s"] = statistics.median(times)
    return out


def falaj_processes(tmp: Path) -> dict[str, float]:
    firsts, cached, info = [], [], []
    for i in range(3):
        home = tmp / f"cli-{i}"
        subprocess.run([FALAJ, "init", str(home)], check=True, capture_output=True)
        argv = [FALAJ, "--home", str(home), "pipeline", "run", SOURCE]
        firsts.append(_timed_process(argv))
        cached.append(_timed_process(argv))
        info.append(_timed_process([FALAJ, "--home", str(home), "info"]))
    return {
        "first_s": statistics.median(firsts),
        "cached_s": statistics.median(cached),
        "info_s": statistics.median(info),
    }


def _ensure_prefect() -> Path | None:
    python = PREFECT_VENV / "bin" / "python"
    check = [str(python), "-c", "import prefect; assert prefect.__version__.startswith('3')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print("creating .venv-prefect with Prefect 3 (once)...", flush=True)
    try:
        subprocess.run(
            [sys.executable.replace("/.venv/", "/"), "-m", "venv", str(PREFECT_VENV)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError):
        subprocess.run(["python3", "-m", "venv", str(PREFECT_VENV)], check=True, timeout=300)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "prefect>=3,<4"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if install.returncode != 0 or subprocess.run(check, capture_output=True).returncode != 0:
        print(f"PREFECT COULD NOT BE INSTALLED: {install.stderr[-1000:]}")
        return None
    return python


def prefect_processes(tmp: Path, python: Path) -> dict[str, float]:
    flow = tmp / "prefect_flow.py"
    flow.write_text(PREFECT_FLOW)
    env = {
        "PREFECT_HOME": str(tmp / "prefect-home"),
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    first = _timed_process([str(python), str(flow)], env=env, cwd=tmp)
    cached = _timed_process([str(python), str(flow)], env=env, cwd=tmp)
    return {"first_s": first, "cached_s": cached}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="falaj-bench-pipelines-") as tmp_name:
        tmp = Path(tmp_name)
        print("Falaj in process...", flush=True)
        inproc = falaj_in_process(tmp)
        print("Falaj CLI processes...", flush=True)
        cli = falaj_processes(tmp)
        python = _ensure_prefect()
        prefect = None
        why = "Prefect 3 could not be installed into .venv-prefect"
        if python is not None:
            print("Prefect 3 processes (first run starts its temporary server)...", flush=True)
            outcome = run_peer("Prefect 3", lambda: prefect_processes(tmp, python))
            prefect, why = outcome.value, f"Prefect 3 failed: {outcome.reason}"
    print()
    print(f"{'measure':<58}{'Falaj':>10}{'Prefect 3':>12}{'ratio':>9}")
    print(
        f"{'per-step overhead, local executor, embedded store (ms)':<58}"
        f"{inproc['per_step_ms']:>10.1f}{'':>12}{'':>9}   target < 20 ms"
    )
    print(
        f"{'cached re-run of 5 steps, in process (s)':<58}"
        f"{inproc['cached_rerun_s']:>10.3f}{'':>12}{'':>9}   target < 0.3 s"
    )
    for key, label in (
        ("first_s", "whole process, 5 steps, first run (s)"),
        ("cached_s", "whole process, 5 steps, cached re-run (s)"),
    ):
        if prefect is None:
            print(f"{label:<58}{cli[key]:>10.2f}{'n/a':>12}{'n/a':>9}   ({why})")
        else:
            ratio = prefect[key] / cli[key]
            print(
                f"{label:<58}{cli[key]:>10.2f}{prefect[key]:>12.2f}{ratio:>8.1f}x   target >= 20x"
            )
    print(
        f"{'reference: `falaj info` process (CLI start + workspace open)':<58}"
        f"{cli['info_s']:>10.2f}"
    )
    if prefect is None:
        print(f"no comparison this run: {why}")


if __name__ == "__main__":
    main()
