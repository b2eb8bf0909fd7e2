"""Artifact store benchmark: Falaj against MLflow's local artifact store, same process, same file.

Workload: one file of ``SIZE_MB`` pseudo-random MiB (written once to a temp folder), then

1. store it (Falaj: streamed in 8 MiB chunks, hashed, atomic rename, metadata row + audit event;
   MLflow: ``log_artifact`` into a run's local artifact folder, a plain copy);
2. store it again (Falaj: de-duplicated by digest; MLflow: a second copy);
3. read it back to a file (Falaj: verified against its sha256 and size; MLflow:
   ``download_artifacts``, unverified).

Peak Python-heap memory of each Falaj step is measured with tracemalloc: it stays a few chunks
big whatever the file size (a 2 GB object never sits in memory). Run:
``python -m benchmarks.artifacts`` (``FALAJ_BENCH_ARTIFACT_MB`` sets the size, default 512).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIZE_MB = int(os.environ.get("FALAJ_BENCH_ARTIFACT_MB", "512"))


def _write_source(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as fh:
        for i in range(size_mb):
            fh.write(block[i % 256 :] + block[: i % 256])


def _timed(fn: Callable[[], Any]) -> tuple[float, int]:
    tracemalloc.start()
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak


def falaj_workload(root: Path, source: Path) -> dict[str, tuple[float, int]]:
    from falaj.workspace import Workspace

    out: dict[str, tuple[float, int]] = {}
    with Workspace.init(root / "falaj-ws") as ws:
        holder: dict[str, str] = {}

        def put() -> None:
            holder["digest"] = ws.artifacts.put_file(source).digest

        out["store"] = _timed(put)
        out["store again"] = _timed(lambda: ws.artifacts.put_file(source))
        out["read back"] = _timed(lambda: ws.artifacts.get_file(holder["digest"], root / "f.out"))
    return out


def mlflow_workload(root: Path, source: Path) -> dict[str, tuple[float, int]]:
    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp = client.create_experiment("bench", artifact_location=(root / "mlartifacts").as_uri())
    out: dict[str, tuple[float, int]] = {}
    with mlflow.start_run(experiment_id=exp) as run:
        out["store"] = _timed(lambda: mlflow.log_artifact(str(source), artifact_path="a"))
        out["store again"] = _timed(lambda: mlflow.log_artifact(str(source), artifact_path="b"))
        dest = root / "ml.out"
        dest.mkdir()
        out["read back"] = _timed(
            lambda: client.download_artifacts(run.info.run_id, f"a/{source.name}", str(dest))
        )
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="falaj-bench-artifacts-") as tmp:
        root = Path(tmp)
        source = root / "blob.bin"
        _write_source(source, SIZE_MB)
        print(f"artifact store, one {SIZE_MB} MiB file (local folder on both sides)")
        falaj = falaj_workload(root, source)
        try:
            peer: dict[str, tuple[float, int]] | None = mlflow_workload(root, source)
        except ImportError:
            peer = None
            print("MLflow is not installed: no comparison this run")
        header = ("step", "Falaj s", "MiB/s", "peak heap", "MLflow s", "ratio")
        print("{:<12} {:>9} {:>7} {:>10} {:>9} {:>7}".format(*header))
        for step, (seconds, peak) in falaj.items():
            rate = SIZE_MB / seconds if seconds else float("inf")
            line = f"{step:<12} {seconds:>9.3f} {rate:>7.0f} {peak / 2**20:>8.1f}Mi"
            if peer is not None:
                theirs = peer[step][0]
                line += f" {theirs:>9.3f} {theirs / seconds:>6.1f}x"
            print(line)
        print(
            "Falaj verifies every read against the sha256 and de-duplicates identical content; "
            "MLflow copies again and reads unverified."
        )


if __name__ == "__main__":
    main()
