"""Registry benchmark: Falaj against MLflow's model registry (SQLite backend), same process.

Workloads:

1. register 200 versions of one model from a logged run (Falaj: each one transaction with its
   row-locked version number, lineage edge and audit event);
2. 200 alias moves (each with who/when/why history in Falaj; MLflow keeps no history);
3. 1,000 look-ups of the version an alias points at;
4. "which version was champion at time T?" over that history (Falaj ``alias_at``, one query;
   MLflow cannot answer it, so there is no ratio).

Run: ``python -m benchmarks.registry``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._peer import print_alone, run_peer

N_VERSIONS = 200
N_MOVES = 200
N_LOOKUPS = 1_000
N_AT = 1_000


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def falaj_workloads(root: Path) -> dict[str, float]:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from falaj.store.schema import utcnow
    from falaj.workspace import Workspace

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    out: dict[str, float] = {}
    with Workspace.init(root / "falaj-ws") as ws:
        with ws.start_run("bench") as run:
            logged = run.log_model(
                LogisticRegression().fit(frame, [0, 0, 1, 1]), "model", input_example=frame
            )
        registry = ws.registry
        out["register"], _ = _timed(
            lambda: [registry.create_version("bench", logged) for _ in range(N_VERSIONS)]
        )
        stamps = []

        def moves() -> None:
            for i in range(N_MOVES):
                registry.set_alias("bench", "champion", i % N_VERSIONS + 1, reason=f"move {i}")
                stamps.append(utcnow())

        out["alias"], _ = _timed(moves)
        out["lookup"], _ = _timed(
            lambda: [registry.get_version("bench", "champion") for _ in range(N_LOOKUPS)]
        )
        out["alias_at"], hits = _timed(
            lambda: [
                registry.alias_at("bench", "champion", stamps[i % len(stamps)]) for i in range(N_AT)
            ]
        )
        assert hits[0] == 1  # the first move pointed champion at version 1
    return out


def mlflow_workloads(root: Path) -> dict[str, float]:
    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.create_experiment("bench", artifact_location=(root / "mlruns").as_uri())
    run_id = client.create_run(experiment).info.run_id
    client.create_registered_model("bench")
    source = f"runs:/{run_id}/model"
    out: dict[str, float] = {}
    out["register"], _ = _timed(
        lambda: [
            client.create_model_version("bench", source, run_id=run_id) for _ in range(N_VERSIONS)
        ]
    )
    out["alias"], _ = _timed(
        lambda: [
            client.set_registered_model_alias("bench", "champion", str(i % N_VERSIONS + 1))
            for i in range(N_MOVES)
        ]
    )
    out["lookup"], _ = _timed(
        lambda: [client.get_model_version_by_alias("bench", "champion") for _ in range(N_LOOKUPS)]
    )
    return out


def report(falaj: dict[str, float], mlflow: dict[str, float]) -> str:
    rows = [
        ("register", f"register {N_VERSIONS} versions"),
        ("alias", f"{N_MOVES} alias moves"),
        ("lookup", f"{N_LOOKUPS} alias look-ups"),
        ("alias_at", f"{N_AT} 'champion at T?' queries"),
    ]
    lines = [f"{'workload':<34}{'Falaj':>10}{'MLflow':>10}{'ratio':>9}"]
    for key, label in rows:
        ours = falaj[key]
        theirs = mlflow.get(key)
        if theirs is None:
            lines.append(f"{label:<34}{ours:>9.3f}s{'n/a':>10}{'-':>9}  (MLflow has no history)")
        else:
            lines.append(f"{label:<34}{ours:>9.3f}s{theirs:>9.3f}s{theirs / ours:>8.1f}x")
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    with tempfile.TemporaryDirectory(prefix="falaj-bench-registry-") as tmp:
        root = Path(tmp)
        falaj = falaj_workloads(root)
        peer = run_peer("MLflow", lambda: mlflow_workloads(root))
    if peer.value is None:
        print_alone("MLflow", peer.reason, falaj)
        return
    print(report(falaj, peer.value))
    print("ratio = MLflow time / Falaj time (higher is better for Falaj)")


if __name__ == "__main__":
    main()
