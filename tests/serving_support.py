"""Helpers for the serving tests: real models logged and registered, request payloads, and a
real ``falaj serve`` process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from falaj.workspace import Workspace

MODEL = "credit"


def frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"income": rng.normal(5, 2, rows), "debt": rng.normal(3, 1.5, rows)})
    y = ((x["income"] - x["debt"] + rng.normal(0, 1, rows)) > 2).astype(int).to_numpy()
    return x, y


def register(ws: Workspace, *, broken: bool = False, name: str = MODEL) -> int:
    """Train, log and register a logistic regression; ``broken`` learns from labels that are
    almost all 1 (a deliberately bad model: it approves nearly everyone, with confidence)."""
    from sklearn.linear_model import LogisticRegression

    x, y = frame()
    if broken:
        y = ((x["income"] - x["debt"]) > -1.5).astype(int).to_numpy()
    model = LogisticRegression().fit(x, y)
    with ws.start_run("serving-tests") as run:
        logged = run.log_model(model, "model", input_example=x.head(5))
    return ws.registry.create_version(name, logged).version


def v2_body(rows: pd.DataFrame, request_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inputs": [
            {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": rows[c].tolist()}
            for c in rows.columns
        ]
    }
    if request_id is not None:
        body["id"] = request_id
    return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}: {out[-3000:]}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server at {url} not ready within {timeout}s")


@contextmanager
def server_process(home: Path, *args: str, workers: int = 1) -> Iterator[str]:
    """``falaj serve ARGS`` as a user starts it, on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "FALAJ_HOME": str(home)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "falaj",
            "serve",
            *args,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--poll-interval",
            "0.2",
            "--report-interval",
            "0.2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(predicate: Any, timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns a truthy value (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
