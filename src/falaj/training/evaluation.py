"""Held-out evaluation: metrics, bootstrap confidence intervals, curves and slices.

:func:`evaluate_classification` takes true labels and the model's scores (probability of the
positive class, or an ``(n, 2)`` probability matrix) and returns accuracy, precision, recall, F1,
ROC AUC, PR AUC, log loss and Brier score, each with a percentile bootstrap interval, plus the
ROC, precision-recall and calibration curves and the confusion matrix.
:func:`evaluate_regression` does the same for MAE, RMSE, R2 and MAPE. Both compute the metrics per
value of each slice column too. Resampling is seeded, so the same inputs give the same intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from falaj.training.errors import EvaluationInputError
from falaj.training.metrics import BINARY_METRICS, REGRESSION_METRICS, FloatArray

__all__ = [
    "Curve",
    "EvaluationResult",
    "SliceMetrics",
    "bootstrap_indices",
    "evaluate_classification",
    "evaluate_regression",
]

_MAX_CURVE_POINTS = 200


@dataclass(frozen=True)
class Curve:
    """A curve as two aligned coordinate lists (ROC: fpr/tpr, PR: recall/precision...)."""

    x: list[float]
    y: list[float]
    x_label: str
    y_label: str
    counts: list[int] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"x": self.x, "y": self.y, "x_label": self.x_label}
        out["y_label"] = self.y_label
        if self.counts is not None:
            out["counts"] = self.counts
        return out


@dataclass(frozen=True)
class SliceMetrics:
    """Metrics of the rows whose ``column`` equals ``value``."""

    column: str
    value: str
    n: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "n": self.n,
            "metrics": self.metrics,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
        }


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one evaluation found; :meth:`evidence_summary` is what gates read."""

    task: Literal["classification", "regression"]
    n_samples: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    confidence: float
    n_bootstrap: int
    seed: int
    threshold: float | None = None
    positive_label: Any = None
    confusion_matrix: list[list[int]] | None = None
    labels: list[Any] | None = None
    curves: dict[str, Curve] = field(default_factory=dict)
    slices: list[SliceMetrics] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_samples": self.n_samples,
            "metrics": self.metrics,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "confidence": self.confidence,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "threshold": self.threshold,
            "positive_label": _plain(self.positive_label),
            "confusion_matrix": self.confusion_matrix,
            "labels": [_plain(v) for v in self.labels] if self.labels is not None else None,
            "curves": {k: c.as_dict() for k, c in self.curves.items()},
            "slices": [s.as_dict() for s in self.slices],
        }

    def evidence_summary(self) -> dict[str, Any]:
        """The ``evaluation`` evidence shape: metrics and their intervals (JSON-safe)."""
        return {
            "task": self.task,
            "n_samples": self.n_samples,
            "confidence": self.confidence,
            "metrics": {k: float(v) for k, v in self.metrics.items() if math.isfinite(v)},
            "intervals": {k: [_finite(lo), _finite(hi)] for k, (lo, hi) in self.intervals.items()},
        }


def bootstrap_indices(n: int, n_bootstrap: int, seed: int) -> np.ndarray[Any, Any]:
    """``(n_bootstrap, n)`` row indices drawn with replacement from a seeded generator."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_bootstrap, n))


def _interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(finite, [alpha, 1 - alpha])
    return (float(lo), float(hi))


def _check_common(n: int, confidence: float, n_bootstrap: int) -> None:
    if n == 0:
        raise EvaluationInputError("y_true is empty: expected at least one held-out row")
    if not 0 < confidence < 1:
        raise EvaluationInputError(
            f"confidence {confidence!r} is invalid: expected a number between 0 and 1"
        )
    if not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise EvaluationInputError(
            f"n_bootstrap {n_bootstrap!r} is invalid: expected a non-negative integer"
        )


def _as_1d(values: Any, name: str) -> np.ndarray[Any, Any]:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim != 1:
        raise EvaluationInputError(f"{name} has shape {arr.shape}: expected one value per row")
    return arr


def _positive_scores(y_score: Any, n: int) -> FloatArray:
    arr = np.asarray(y_score, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise EvaluationInputError(
            f"y_score has shape {np.asarray(y_score).shape}: expected ({n},) positive-class "
            f"probabilities or a ({n}, 2) probability matrix"
        )
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise EvaluationInputError("y_score must hold probabilities in [0, 1] with no NaN")
    return arr


def _binary_targets(
    y_true: np.ndarray[Any, Any], positive_label: Any
) -> tuple[FloatArray, list[Any]]:
    labels = sorted(pd.unique(pd.Series(y_true)).tolist())
    if len(labels) > 2:
        raise EvaluationInputError(
            f"y_true holds {len(labels)} classes {labels[:5]}: expected a binary target"
        )
    if positive_label is None:
        positive_label = 1 if 1 in labels or not labels else labels[-1]
    if positive_label not in labels and len(labels) == 2:
        raise EvaluationInputError(
            f"positive_label {_plain(positive_label)!r} is not one of the classes "
            f"{[_plain(v) for v in labels]}"
        )
    negatives = [v for v in labels if v != positive_label]
    ordered = [*negatives[:1], positive_label] if negatives else [0, positive_label]
    return (y_true == positive_label).astype(np.float64), ordered


MAX_SLICE_VALUES = 50
"""A slice column with more distinct values is refused: one table row per value of a continuous
column says nothing (each slice holds a row or two)."""


def _slice_groups(
    slices: pd.DataFrame | Mapping[str, Sequence[Any]] | None, n: int
) -> list[tuple[str, str, np.ndarray[Any, Any]]]:
    if slices is None:
        return []
    frame = slices if isinstance(slices, pd.DataFrame) else pd.DataFrame(dict(slices))
    if len(frame) != n:
        raise EvaluationInputError(f"slices have {len(frame)} rows: expected {n} (one per row)")
    groups: list[tuple[str, str, np.ndarray[Any, Any]]] = []
    for column in frame.columns:
        values = frame[column].astype("string").fillna("<missing>").to_numpy()
        distinct = len(set(values.tolist()))
        if distinct > MAX_SLICE_VALUES:
            raise EvaluationInputError(
                f"slice column {column!r} has {distinct} distinct values: expected at most "
                f"{MAX_SLICE_VALUES} (a categorical column; bin a numeric one first, e.g. pass "
                "a frame with an age group)"
            )
        for value in sorted(set(values.tolist())):
            groups.append((str(column), str(value), np.flatnonzero(values == value)))
    return groups


def evaluate_classification(
    y_true: Any,
    y_score: Any,
    *,
    threshold: float = 0.5,
    positive_label: Any = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    slices: pd.DataFrame | Mapping[str, Sequence[Any]] | None = None,
    calibration_bins: int = 10,
) -> EvaluationResult:
    """Binary classification metrics with bootstrap intervals, curves and per-slice metrics.

    ``y_score`` is the probability of ``positive_label`` (default: ``1`` when it is a class,
    else the larger label); a row is predicted positive when its score is ``>= threshold``.
    """
    y_raw = _as_1d(y_true, "y_true")
    n = y_raw.shape[0]
    _check_common(n, confidence, n_bootstrap)
    if not 0 <= threshold <= 1:
        raise EvaluationInputError(f"threshold {threshold!r} is invalid: expected 0..1")
    y, labels = _binary_targets(y_raw, positive_label)
    score = _positive_scores(y_score, n)
    metrics, intervals = _binary_block(y, score, threshold, n_bootstrap, confidence, seed)
    pred = (score >= threshold).astype(np.float64)
    tn = int(np.sum((pred == 0) & (y == 0)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    tp = int(np.sum((pred == 1) & (y == 1)))
    slice_results = [
        SliceMetrics(
            col,
            val,
            int(idx.size),
            *_binary_block(y[idx], score[idx], threshold, n_bootstrap, confidence, seed),
        )
        for col, val, idx in _slice_groups(slices, n)
    ]
    return EvaluationResult(
        task="classification",
        n_samples=n,
        metrics=metrics,
        intervals=intervals,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
        threshold=threshold,
        positive_label=labels[-1],
        confusion_matrix=[[tn, fp], [fn, tp]],
        labels=labels,
        curves=_binary_curves(y, score, calibration_bins),
        slices=slice_results,
    )


def _binary_block(
    y: FloatArray,
    score: FloatArray,
    threshold: float,
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    metrics = {name: float(fn(y, score, threshold)) for name, fn in BINARY_METRICS.items()}
    if n_bootstrap == 0:
        return metrics, {}
    idx = bootstrap_indices(y.shape[0], n_bootstrap, seed)
    yb, sb = y[idx], score[idx]
    intervals = {
        name: _interval(fn(yb, sb, threshold), confidence) for name, fn in BINARY_METRICS.items()
    }
    return metrics, intervals


def _thin(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[list[float], list[float]]:
    if x.size > _MAX_CURVE_POINTS:
        keep = np.unique(np.linspace(0, x.size - 1, _MAX_CURVE_POINTS).round().astype(int))
        x, y = x[keep], y[keep]
    return [float(v) for v in x], [float(v) for v in y]


def _binary_curves(y: FloatArray, score: FloatArray, bins: int) -> dict[str, Curve]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    curves: dict[str, Curve] = {}
    if 0 < y.sum() < y.size:
        fpr, tpr, _ = roc_curve(y, score)
        curves["roc"] = Curve(*_thin(fpr, tpr), "false positive rate", "true positive rate")
        prec, rec, _ = precision_recall_curve(y, score)
        curves["pr"] = Curve(*_thin(rec[::-1], prec[::-1]), "recall", "precision")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.searchsorted(edges[1:-1], score)  # the binning of sklearn calibration_curve
    counts = np.bincount(which, minlength=bins)
    filled = counts > 0
    mean_pred = np.bincount(which, weights=score, minlength=bins)[filled] / counts[filled]
    frac_pos = np.bincount(which, weights=y, minlength=bins)[filled] / counts[filled]
    curves["calibration"] = Curve(
        [float(v) for v in mean_pred],
        [float(v) for v in frac_pos],
        "mean predicted probability",
        "fraction of positives",
        counts=[int(c) for c in counts[filled]],
    )
    return curves


def evaluate_regression(
    y_true: Any,
    y_pred: Any,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    slices: pd.DataFrame | Mapping[str, Sequence[Any]] | None = None,
) -> EvaluationResult:
    """MAE, RMSE, R2 and MAPE with bootstrap intervals and per-slice metrics."""
    y_raw = _as_1d(y_true, "y_true")
    n = y_raw.shape[0]
    _check_common(n, confidence, n_bootstrap)
    try:
        y = y_raw.astype(np.float64)
        pred = _as_1d(y_pred, "y_pred").astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise EvaluationInputError(f"regression targets must be numeric: {exc}") from exc
    if pred.shape[0] != n:
        raise EvaluationInputError(f"y_pred has {pred.shape[0]} rows: expected {n}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(pred))):
        raise EvaluationInputError("y_true and y_pred must be finite numbers (no NaN or inf)")
    metrics, intervals = _regression_block(y, pred, n_bootstrap, confidence, seed)
    slice_results = [
        SliceMetrics(
            col,
            val,
            int(idx.size),
            *_regression_block(y[idx], pred[idx], n_bootstrap, confidence, seed),
        )
        for col, val, idx in _slice_groups(slices, n)
    ]
    return EvaluationResult(
        task="regression",
        n_samples=n,
        metrics=metrics,
        intervals=intervals,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
        slices=slice_results,
    )


def _regression_block(
    y: FloatArray, pred: FloatArray, n_bootstrap: int, confidence: float, seed: int
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    metrics = {name: float(fn(y, pred)) for name, fn in REGRESSION_METRICS.items()}
    if n_bootstrap == 0:
        return metrics, {}
    idx = bootstrap_indices(y.shape[0], n_bootstrap, seed)
    yb, pb = y[idx], pred[idx]
    intervals = {name: _interval(fn(yb, pb), confidence) for name, fn in REGRESSION_METRICS.items()}
    return metrics, intervals


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
