"""Serving benchmark: one scikit-learn logistic regression (20 features) served by Falaj, by
``mlflow models serve`` (``--env-manager local``) and by BentoML (when it installs in
``.venv-bentoml``), each with one worker, on loopback, in the same run.

Workloads, each against every server:

1. single-row requests at 16 concurrent connections for ``FALAJ_BENCH_SECONDS`` (default 10):
   requests/s, p50 and p99 latency (load generator: asyncio + httpx in its own process);
2. one 1,000-row request (median of 10);
3. the server's overhead at p50: sequential single-row latency minus a bare ``model.predict``
   on a one-row DataFrame in-process.

Run: ``python -m benchmarks.serving``. Targets (issue 13): >= 10x MLflow's throughput, >= 3x
BentoML's, p99 <= 1/3 of BentoML's, overhead < 1 ms at p50.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._peer import run_peer

ROOT = Path(__file__).resolve().parent.parent
FEATURES = [f"f{i}" for i in range(20)]
SECONDS = float(os.environ.get("FALAJ_BENCH_SECONDS", "10"))
BENTO_VENV = ROOT / ".venv-bentoml"


def _data(rows: int = 2000) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(rows, 20)), columns=FEATURES)
    y = (x.to_numpy() @ rng.normal(size=20) > 0).astype(int)
    return x, y


def _model() -> Any:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    return LogisticRegression(max_iter=500).fit(x, y)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-500:] if proc.stderr else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {err}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready at {url} within {timeout:.0f}s")


@contextmanager
def _server(cmd: list[str], ready_url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait(ready_url, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _load(url: str, body: Any, tmp: Path, concurrency: int = 16) -> dict[str, float]:
    path = tmp / f"body-{abs(hash(url))}.json"
    path.write_text(json.dumps(body))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._loadgen", url, str(path), "--concurrency",
         str(concurrency), "--seconds", str(SECONDS)],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["errors"]:
        raise RuntimeError(f"{int(result['errors'])} failed requests against {url}")
    return result


def _sequential_p50(url: str, body: Any, n: int = 300) -> float:
    import httpx

    lat = []
    with httpx.Client(timeout=60) as client:
        for _ in range(20):
            client.post(url, json=body)
        for _ in range(n):
            start = time.perf_counter()
            r = client.post(url, json=body)
            lat.append(time.perf_counter() - start)
            r.raise_for_status()
    return statistics.median(lat) * 1000


def _big(url: str, body: Any) -> float:
    import httpx

    lat = []
    with httpx.Client(timeout=120) as client:
        client.post(url, json=body).raise_for_status()
        for _ in range(10):
            start = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            lat.append(time.perf_counter() - start)
    return statistics.median(lat) * 1000


def _measure(url: str, one: Any, thousand: Any, tmp: Path) -> dict[str, float]:
    out = dict(_load(url, one, tmp))
    out["seq_p50_ms"] = _sequential_p50(url, one)
    out["rows1000_ms"] = _big(url, thousand)
    return out


def bare_predict_p50(model: Any) -> float:
    x, _ = _data(1)
    lat = []
    for _ in range(2000):
        start = time.perf_counter()
        model.predict(x)
        lat.append(time.perf_counter() - start)
    return statistics.median(lat) * 1000


def falaj(tmp: Path, model: Any) -> dict[str, float]:
    from falaj.workspace import Workspace

    x, _ = _data(1000)
    home = tmp / "falaj-ws"
    with Workspace.init(home) as ws:
        with ws.start_run("bench") as run:
            logged = run.log_model(model, "model", input_example=x.head(5))
        mv = ws.registry.create_version("bench", logged)
        ws.serving.create_deployment("bench", f"bench/{mv.version}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "falaj", "serve", "--deployment", "bench", "--port", str(port),
           "--max-body-mb", "64"]  # fmt: skip

    def v2(rows: Any) -> dict[str, Any]:
        return {"inputs": [{"name": c, "shape": [len(rows)], "datatype": "FP64",
                            "data": rows[c].tolist()} for c in FEATURES]}  # fmt: skip

    with _server(cmd, f"{base}/v2/health/ready", env={"FALAJ_HOME": str(home)}):
        return _measure(f"{base}/v2/models/bench/infer", v2(x.head(1)), v2(x), tmp)


def mlflow(tmp: Path, model: Any) -> dict[str, float]:
    import mlflow as mf

    x, _ = _data(1000)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mf.set_tracking_uri(uri)
    # artifacts in the temporary folder too (MLflow's default is ./mlruns in the working dir)
    experiment = mf.create_experiment("bench", artifact_location=(tmp / "artifacts").as_uri())
    with mf.start_run(experiment_id=experiment):
        info = mf.sklearn.log_model(model, name="model", input_example=x.head(2))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", info.model_uri, "-p",
           str(port), "-h", "127.0.0.1", "--env-manager", "local", "-w", "1"]  # fmt: skip

    def split(rows: Any) -> dict[str, Any]:
        return {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}

    # mlflow starts `uvicorn` by name: the interpreter's bin folder must be on PATH
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with _server(cmd, f"{base}/ping", env={"MLFLOW_TRACKING_URI": uri, "PATH": path}):
        return _measure(f"{base}/invocations", split(x.head(1)), split(x), tmp)


_BENTO_SERVICE = """
import bentoml, numpy as np, pandas as pd, pickle, os

@bentoml.service(workers=1)
class Bench:
    def __init__(self) -> None:
        with open(os.environ["BENCH_MODEL"], "rb") as fh:
            self.model = pickle.load(fh)

    @bentoml.api
    def predict(self, rows: list[dict[str, float]]) -> list[int]:
        return self.model.predict(pd.DataFrame(rows)).tolist()
"""


def bentoml(tmp: Path, model: Any) -> dict[str, float]:
    import pickle

    python = BENTO_VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"BentoML is not installed: create {BENTO_VENV.name} with "
            f"`python -m venv {BENTO_VENV.name} && {BENTO_VENV.name}/bin/pip install bentoml "
            "scikit-learn pandas`"
        )
    x, _ = _data(1000)
    (tmp / "bento").mkdir()
    (tmp / "bento" / "service.py").write_text(_BENTO_SERVICE)
    with (tmp / "bento" / "model.pkl").open("wb") as fh:
        pickle.dump(model, fh)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(python), "-m", "bentoml", "serve", "service:Bench", "--port", str(port),
           "--host", "127.0.0.1", "--working-dir", str(tmp / "bento")]  # fmt: skip
    env = {"BENCH_MODEL": str(tmp / "bento" / "model.pkl"), "BENTOML_HOME": str(tmp / "bentohome")}

    def records(rows: Any) -> dict[str, Any]:
        return {"rows": rows.to_dict("records")}

    with _server(cmd, f"{base}/readyz", env=env):
        return _measure(f"{base}/predict", records(x.head(1)), records(x), tmp)


ROWS = [
    ("requests/s, 1 row, 16 connections", "rps", True),
    ("p50 ms, 1 row, 16 connections", "p50_ms", False),
    ("p99 ms, 1 row, 16 connections", "p99_ms", False),
    ("p50 ms, 1 row, sequential", "seq_p50_ms", False),
    ("ms, one 1,000-row request", "rows1000_ms", False),
]


def report(results: dict[str, dict[str, float] | str], bare_ms: float) -> str:
    peers = [p for p in results if p != "Falaj"]
    ours = results["Falaj"]
    assert isinstance(ours, dict)
    head = f"{'measure':<38}{'Falaj':>10}" + "".join(f"{p:>10}{'ratio':>8}" for p in peers)
    lines = [head]
    for label, key, higher in ROWS:
        line = f"{label:<38}{ours[key]:>10.4g}"
        for p in peers:
            theirs = results[p]
            if isinstance(theirs, str):
                line += f"{'n/a':>10}{'':>8}"
                continue
            ratio = ours[key] / theirs[key] if higher else theirs[key] / ours[key]
            line += f"{theirs[key]:>10.4g}{ratio:>7.1f}x"
        lines.append(line)
    overhead = ours["seq_p50_ms"] - bare_ms
    lines.append(f"bare model.predict p50 (ms, in-process): {bare_ms:.3f}")
    lines.append(
        f"Falaj overhead over bare predict at p50 (sequential HTTP round trip, client included): "
        f"{overhead:.3f} ms"
    )
    for p in peers:
        if isinstance(results[p], str):
            lines.append(f"{p} failed: {results[p]}")
    lines.append("ratio: how many times better Falaj is (throughput up, latency down)")
    return "\n".join(lines)


def main() -> None:
    model = _model()
    bare = bare_predict_p50(model)
    results: dict[str, dict[str, float] | str] = {}
    runners: list[tuple[str, Callable[[Path, Any], dict[str, float]]]] = [
        ("Falaj", falaj),
        ("MLflow", mlflow),
        ("BentoML", bentoml),
    ]
    with tempfile.TemporaryDirectory(prefix="falaj-bench-serving-") as tmp:
        for name, fn in runners:
            folder = Path(tmp) / name
            folder.mkdir()
            if name == "Falaj":
                results[name] = fn(folder, model)
                continue
            outcome = run_peer(name, lambda fn=fn, folder=folder: fn(folder, model))  # type: ignore[misc]
            results[name] = outcome.value if outcome.value is not None else str(outcome.reason)
    print(report(results, bare))


if __name__ == "__main__":
    main()
