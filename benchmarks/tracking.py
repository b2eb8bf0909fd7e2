"""Tracking benchmark: Falaj against MLflow (SQLite backend) on the same workloads, same process.

Workloads (from the tracking issue):

1. one run logging 100 params and 10,000 metric points, one call each;
2. the same through the batch APIs;
3. 1,000 small runs (a param, a metric, a tag each), then the search
   ``metrics.m > 0.5 order by metrics.m``.

Times are wall-clock from the run's start until everything it logged is durable (Falaj's run
context exits only after its rows are committed; MLflow writes synchronously). MLflow is slow
enough on (1) that it runs a tenth of the metric points (1,000) by default and its time is
extrapolated per call to 10,000 (the output says so); ``--full`` runs it at full size.
The caller-thread cost of ``log_metric`` is the time a training loop spends inside the call.

Run: ``python -m benchmarks.tracking [--full]``.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._peer import print_alone, run_peer

N_PARAMS = 100
N_METRICS = 10_000
N_RUNS = 1_000
THRESHOLD = 0.5


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


# -- Falaj -------------------------------------------------------------------------------------
def falaj_workloads(root: Path) -> dict[str, float]:
    from falaj.workspace import Workspace

    out: dict[str, float] = {}
    with Workspace.init(root / "falaj-ws") as ws:
        ws.tracking.create_experiment("warmup")
        with ws.start_run("warmup") as warm:
            warm.log_metric("x", 1.0)

        def one_call_each() -> None:
            with ws.start_run("w1") as run:
                for i in range(N_PARAMS):
                    run.log_param(f"p{i}", i)
                for i in range(N_METRICS):
                    run.log_metric("loss", 1.0 / (i + 1), step=i)

        out["w1"], _ = _timed(one_call_each)

        def batched() -> None:
            with ws.start_run("w2") as run:
                run.log_params({f"p{i}": i for i in range(N_PARAMS)})
                run.log_batch(metrics=[("loss", 1.0 / (i + 1), i) for i in range(N_METRICS)])

        out["w2"], _ = _timed(batched)

        def many_runs() -> None:
            for i in range(N_RUNS):
                with ws.start_run("w3") as run:
                    run.log_param("i", i)
                    run.log_metric("m", (i * 7919 % N_RUNS) / N_RUNS)
                    run.set_tag("kind", "small")

        out["w3_create"], _ = _timed(many_runs)

        def search() -> int:
            page = ws.tracking.search_runs(
                f"metrics.m > {THRESHOLD}",
                experiment="w3",
                order_by=["metrics.m"],
                max_results=N_RUNS,
            )
            return len(page.runs)

        times = []
        for _ in range(7):
            t, count = _timed(search)
            times.append(t)
        out["w3_search"] = statistics.median(times)
        out["w3_found"] = count

        # caller-thread cost of log_metric: the loop's time per call (writer busy alongside)
        with ws.start_run("overhead") as run:
            n = 10_000
            start = time.perf_counter()
            for i in range(n):
                run.log_metric("x", 0.5, step=i)
            out["caller_us"] = (time.perf_counter() - start) / n * 1e6
            n = 200_000
            start = time.perf_counter()
            for i in range(n):
                run.log_metric("y", 0.5, step=i)
            out["sustained_us"] = (time.perf_counter() - start) / n * 1e6
    return out


# -- MLflow ------------------------------------------------------------------------------------
def mlflow_workloads(root: Path, *, full: bool) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    artifacts = (root / "mlartifacts").as_uri()
    ids = {
        name: client.create_experiment(name, artifact_location=f"{artifacts}/{name}")
        for name in ("warmup", "w1", "w2", "w3")
    }
    with mlflow.start_run(experiment_id=ids["warmup"]):
        mlflow.log_metric("x", 1.0)

    out: dict[str, float] = {}
    n_metrics = N_METRICS if full else N_METRICS // 10

    def one_call_each() -> tuple[float, float]:
        with mlflow.start_run(experiment_id=ids["w1"]):
            t_params, _ = _timed(lambda: [mlflow.log_param(f"p{i}", i) for i in range(N_PARAMS)])
            t_metrics, _ = _timed(
                lambda: [mlflow.log_metric("loss", 1.0 / (i + 1), step=i) for i in range(n_metrics)]
            )
        return t_params, t_metrics

    total, (t_params, t_metrics) = _timed(one_call_each)
    overhead = total - t_params - t_metrics
    out["w1"] = overhead + t_params + t_metrics * (N_METRICS / n_metrics)
    out["w1_scaled"] = 0.0 if full else float(n_metrics)

    def batched() -> None:
        with mlflow.start_run(experiment_id=ids["w2"]) as run:
            run_id = run.info.run_id
            now = int(time.time() * 1000)
            client.log_batch(run_id, params=[Param(f"p{i}", str(i)) for i in range(N_PARAMS)])
            points = [Metric("loss", 1.0 / (i + 1), now, i) for i in range(N_METRICS)]
            for start in range(0, N_METRICS, 1000):  # MLflow's limit per log_batch call
                client.log_batch(run_id, metrics=points[start : start + 1000])

    out["w2"], _ = _timed(batched)

    def many_runs() -> None:
        for i in range(N_RUNS):
            with mlflow.start_run(experiment_id=ids["w3"]):
                mlflow.log_param("i", i)
                mlflow.log_metric("m", (i * 7919 % N_RUNS) / N_RUNS)
                mlflow.set_tag("kind", "small")

    out["w3_create"], _ = _timed(many_runs)

    def search() -> int:
        runs = client.search_runs(
            [ids["w3"]],
            filter_string=f"metrics.m > {THRESHOLD}",
            order_by=["metrics.m"],
            max_results=N_RUNS,
        )
        return len(runs)

    times = []
    for _ in range(7):
        t, count = _timed(search)
        times.append(t)
    out["w3_search"] = statistics.median(times)
    out["w3_found"] = count
    return out


# -- report ------------------------------------------------------------------------------------
def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def report(falaj: dict[str, float], mlflow: dict[str, float]) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Tracking: Falaj vs MLflow (SQLite, same machine, same process)")
    table.add_column("workload")
    table.add_column("Falaj", justify="right")
    table.add_column("MLflow", justify="right")
    table.add_column("speed-up", justify="right")
    table.add_column("target", justify="right")
    rows = [
        ("(1) 100 params + 10,000 metrics, one call each", "w1", "≥ 100x"),
        ("(2) same, batch API", "w2", ""),
        ("(3) create 1,000 small runs", "w3_create", "≥ 20x"),
        ("(3) search metrics.m > 0.5 order by metrics.m", "w3_search", "≥ 1x"),
    ]
    for label, key, target in rows:
        ratio = mlflow[key] / falaj[key]
        table.add_row(label, _fmt(falaj[key]), _fmt(mlflow[key]), f"{ratio:,.1f}x", target)
    console = Console(width=120, record=True)
    console.print(table)
    if mlflow.get("w1_scaled"):
        console.print(
            f"MLflow (1) ran {int(mlflow['w1_scaled']):,} metric calls; its time is extrapolated "
            "per call to 10,000 (use --full to run all of them)."
        )
    console.print(
        f"search returned {int(falaj['w3_found'])} runs (Falaj) and {int(mlflow['w3_found'])} "
        "(MLflow); median of 7."
    )
    console.print(
        f"caller-thread cost of log_metric: {falaj['caller_us']:.2f} µs per call over 10,000 "
        f"calls (target < 5 µs); {falaj['sustained_us']:.2f} µs sustained over 200,000 calls, "
        "where the bounded queue fills and the loop waits for the writer (back-pressure)."
    )
    return console.export_text()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    full = "--full" in args
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    with tempfile.TemporaryDirectory(prefix="falaj-bench-tracking-") as tmp:
        root = Path(tmp)
        (root / "falaj").mkdir()
        (root / "mlflow").mkdir()
        print("running Falaj workloads...", flush=True)
        falaj = falaj_workloads(root / "falaj")
        print("running MLflow workloads...", flush=True)
        peer = run_peer("MLflow", lambda: mlflow_workloads(root / "mlflow", full=full))
    if peer.value is None:
        print_alone("MLflow", peer.reason, falaj)
        return
    report(falaj, peer.value)


if __name__ == "__main__":
    main()
