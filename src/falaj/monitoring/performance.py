"""The task's metrics over labelled predictions, and an estimate without labels.

Classification: accuracy, precision, recall, F1 (binary: of the positive class; multi-class:
macro averages), and ROC AUC when the prediction log holds probabilities. Regression: MAE, RMSE,
R2.

**Confidence-based performance estimation (CBPE)** estimates a binary classifier's accuracy from
its probabilities alone: the expected accuracy is the mean of ``max(p, 1 - p)``. It holds only
when (1) the probabilities are calibrated on the production population, and (2) there is no
concept drift: P(label | inputs) is what it was at training time (covariate shift alone is
fine). It cannot see a change of the relation between inputs and labels; labelled feedback can.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TASKS",
    "Performance",
    "collect_labelled",
    "estimate_accuracy",
    "infer_task",
    "score",
]

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Performance:
    task: str
    metrics: dict[str, float | None]
    labelled: int
    predictions: int
    estimated: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "metrics": self.metrics,
            "labelled": self.labelled,
            "predictions": self.predictions,
            "estimated": self.estimated,
        }


def infer_task(labels: list[Any]) -> str:
    """Classification for booleans, text and few integer values; regression otherwise."""
    sample = [v for v in labels if v is not None][:10_000]
    if not sample:
        return "classification"
    if all(isinstance(v, bool | str) for v in sample):
        return "classification"
    if all(isinstance(v, int) or (isinstance(v, float) and v.is_integer()) for v in sample):
        return "classification" if len(set(sample)) <= 20 else "regression"
    return "regression"


def _positive_proba(proba: list[Any]) -> np.ndarray[Any, Any] | None:
    """P(positive) per row from floats or [p0, p1] lists; None when not binary."""
    if not proba:
        return None
    first = proba[0]
    if isinstance(first, list | tuple | np.ndarray):
        arr = np.asarray([list(p) for p in proba], dtype=np.float64)
        return arr[:, 1] if arr.ndim == 2 and arr.shape[1] == 2 else None
    return np.asarray(proba, dtype=np.float64)


def score(
    task: str, y_true: list[Any], y_pred: list[Any], proba: list[Any] | None = None
) -> dict[str, float | None]:
    """The task's metrics; ROC AUC only with binary probabilities and both classes present."""
    from sklearn import metrics as skm

    if task not in TASKS:
        raise InvalidInputError(f"task {task!r} is invalid: expected one of {', '.join(TASKS)}")
    if not y_true:
        return {}
    if task == "regression":
        t = np.asarray(y_true, dtype=np.float64)
        p = np.asarray(y_pred, dtype=np.float64)
        return {
            "mae": float(skm.mean_absolute_error(t, p)),
            "rmse": float(np.sqrt(skm.mean_squared_error(t, p))),
            "r2": float(skm.r2_score(t, p)) if len(t) > 1 else None,
        }
    t_arr = np.asarray([_norm(v) for v in y_true])
    p_arr = np.asarray([_norm(v) for v in y_pred])
    classes = sorted(set(t_arr.tolist()) | set(p_arr.tolist()), key=str)
    binary = len(classes) <= 2
    average = "binary" if binary and set(classes) <= {0, 1} else "macro"
    out: dict[str, float | None] = {
        "accuracy": float(skm.accuracy_score(t_arr, p_arr)),
        "precision": float(skm.precision_score(t_arr, p_arr, average=average, zero_division=0)),
        "recall": float(skm.recall_score(t_arr, p_arr, average=average, zero_division=0)),
        "f1": float(skm.f1_score(t_arr, p_arr, average=average, zero_division=0)),
        "roc_auc": None,
    }
    positive = _positive_proba(proba) if proba is not None else None
    if positive is not None and len(set(t_arr.tolist())) == 2:
        out["roc_auc"] = float(skm.roc_auc_score(t_arr, positive))
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def estimate_accuracy(proba: list[Any]) -> dict[str, float] | None:
    """CBPE: the expected accuracy of a calibrated binary classifier (see the module notes)."""
    positive = _positive_proba(proba)
    if positive is None or len(positive) == 0:
        return None
    confidence = np.maximum(positive, 1.0 - positive)
    return {"accuracy": float(confidence.mean()), "rows": float(len(positive))}


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def collect_labelled(
    chunks: Iterable[pd.DataFrame],
    labels_of: Callable[[list[str]], dict[str, Any]],
    pred_col: str | None,
    proba_col: str | None,
) -> tuple[list[Any], list[Any], list[Any], list[Any], int]:
    """From logged chunks: labels, predictions and probabilities of the labelled rows, every
    row's probabilities (for CBPE) and the number of rows. A request's label is a list when it
    carried several rows (row ``i`` takes item ``i``)."""
    y_true: list[Any] = []
    y_pred: list[Any] = []
    proba: list[Any] = []
    all_proba: list[Any] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if proba_col:
            all_proba.extend(_plain(v) for v in chunk[proba_col].tolist())
        labels = labels_of(sorted(set(chunk["request_id"].tolist())))
        if not labels or pred_col is None:
            continue
        probs = chunk[proba_col].tolist() if proba_col else [None] * len(chunk)
        rows = zip(chunk["request_id"], chunk["row"], chunk[pred_col], probs, strict=True)
        for rid, row, pred, pr in rows:
            if rid not in labels:
                continue
            label = labels[rid]
            y_true.append(label[int(row)] if isinstance(label, list) else label)
            y_pred.append(_plain(pred))
            proba.append(_plain(pr))
    return y_true, y_pred, proba, all_proba, total
