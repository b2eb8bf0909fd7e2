"""Helpers for the registry tests: a real run that logs a real (tiny) scikit-learn model."""

from __future__ import annotations

from typing import Any

from falaj.workspace import Workspace

CREATOR_ROLES = frozenset({"data-scientist"})


def training_frame() -> tuple[Any, list[int]]:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "income": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "debt": [4.0, 3.5, 3.0, 2.0, 2.5, 1.0, 0.5, 0.2],
        }
    )
    return frame, [0, 0, 0, 1, 0, 1, 1, 1]


def fitted_model() -> Any:
    from sklearn.linear_model import LogisticRegression

    frame, target = training_frame()
    return LogisticRegression().fit(frame, target)


def log_model(
    ws: Workspace,
    *,
    metrics: dict[str, float] | None = None,
    experiment: str = "credit",
    dataset_ids: list[str] | None = None,
) -> Any:
    """Train and log a logistic regression in a finished run; returns its LoggedModel."""
    frame, _ = training_frame()
    with ws.start_run(experiment) as run:
        for dataset_id in dataset_ids or []:
            run.log_dataset(dataset_id)
        run.log_metrics(metrics or {"roc_auc": 0.8})
        logged = run.log_model(fitted_model(), "model", input_example=frame)
    return logged
