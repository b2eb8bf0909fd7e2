"""A registered model with lineage to its training dataset, and traffic to log for it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from falaj.workspace import Workspace

MODEL = "churn"
FEATURES = ["tenure", "spend", "visits", "age"]
T0 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)


def frame(n: int, *, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    """Numeric features, a categorical plan, a pii email; ``shift`` moves columns' means."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "tenure": rng.normal(24, 6, n),
            "spend": rng.normal(50, 10, n),
            "visits": rng.normal(8, 2, n),
            "age": rng.normal(40, 9, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "email": [f"user{i}-{seed}@example.com" for i in range(n)],
        }
    )
    for column, delta in (shift or {}).items():
        if column == "plan":
            data["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.1, 0.2, 0.7])
        else:
            data[column] = data[column] + delta
    return data


def target(data: pd.DataFrame) -> np.ndarray[Any, Any]:
    score = (data["spend"] - 50) / 10 - (data["tenure"] - 24) / 6
    return (score > 0).astype(int).to_numpy()


def register_model(ws: Workspace, *, rows: int = 2000) -> tuple[Any, str]:
    """Dataset ``customers`` (email classified pii), a run reading it, version 1 champion."""
    from sklearn.linear_model import LogisticRegression

    data = frame(rows, seed=1)
    data["churned"] = target(data)
    version = ws.datasets.register("customers", data, classifications={"email": ["pii"]})
    model = LogisticRegression().fit(data[FEATURES], data["churned"])
    with ws.start_run("churn") as run:
        run.log_dataset(version.id)
        logged = run.log_model(model, "model", input_example=data[FEATURES].head(5))
    mv = ws.registry.create_version(MODEL, logged)
    ws.registry.set_alias(MODEL, "champion", mv.version, reason="test")
    return mv, version.id


def log_traffic(
    ws: Workspace,
    log: Any,
    data: pd.DataFrame,
    *,
    version: int = 1,
    start: dt.datetime = T0,
    prefix: str = "r",
    step: dt.timedelta = dt.timedelta(seconds=1),
) -> list[str]:
    """Predict each row with the registered model and log it as one request; returns ids."""
    loaded = ws.registry.load_model(MODEL, version)
    inputs = data[[*FEATURES, "plan", "email"]]
    proba = loaded.predict_proba(inputs[FEATURES])[:, 1]
    ids = []
    for i in range(len(data)):
        rid = f"{prefix}{i}"
        ids.append(rid)
        log.log(
            request_id=rid,
            model=MODEL,
            version=version,
            deployment="churn-prod",
            revision="rev-1",
            inputs=inputs.iloc[[i]],
            outputs={
                "predict": [int(proba[i] >= 0.5)],
                "predict_proba": [[1 - proba[i], proba[i]]],
            },
            latency_ms=1.5,
            at=start + i * step,
            shadow=False,
        )
    log.flush()
    return ids
