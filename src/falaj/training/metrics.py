"""Metric functions in plain numpy, vectorized over bootstrap resamples.

Each function takes arrays whose *last* axis is the sample axis, so the same code computes a
point estimate (1-D input) and a batch of bootstrap estimates (2-D input, one row per
resample). Definitions follow scikit-learn exactly (the tests compare with it): precision and
recall are 0 when undefined (scikit-learn's ``zero_division`` result), ROC AUC uses average ranks
for ties, PR AUC is scikit-learn's average precision, MAPE divides by ``max(|y|, eps)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = [
    "BINARY_METRICS",
    "REGRESSION_METRICS",
    "FloatArray",
    "accuracy",
    "average_precision",
    "brier",
    "f1",
    "log_loss",
    "mae",
    "mape",
    "precision",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
]

FloatArray = npt.NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _counts(y: FloatArray, pred: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    tp = np.sum((pred == 1) & (y == 1), axis=-1).astype(np.float64)
    fp = np.sum((pred == 1) & (y == 0), axis=-1).astype(np.float64)
    fn = np.sum((pred == 0) & (y == 1), axis=-1).astype(np.float64)
    return tp, fp, fn


def accuracy(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    pred = (score >= threshold).astype(np.float64)
    return np.asarray(np.mean(pred == y, axis=-1), dtype=np.float64)


def precision(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    tp, fp, _ = _counts(y, (score >= threshold).astype(np.float64))
    return _ratio(tp, tp + fp)


def recall(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    tp, _, fn = _counts(y, (score >= threshold).astype(np.float64))
    return _ratio(tp, tp + fn)


def f1(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    tp, fp, fn = _counts(y, (score >= threshold).astype(np.float64))
    return _ratio(2 * tp, 2 * tp + fp + fn)


def roc_auc(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    """Mann-Whitney U over average ranks; NaN where a resample holds one class only."""
    from scipy.stats import rankdata

    ranks = rankdata(score, axis=-1)
    n_pos = np.sum(y == 1, axis=-1).astype(np.float64)
    n_neg = y.shape[-1] - n_pos
    rank_sum = np.sum(np.where(y == 1, ranks, 0.0), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def _average_precision_1d(y: FloatArray, score: FloatArray) -> float:
    order = np.argsort(-score, kind="mergesort")
    ys, ss = y[order], score[order]
    distinct = np.where(np.diff(ss))[0]
    idx = np.r_[distinct, ys.size - 1]
    tps = np.cumsum(ys)[idx]
    if tps.size == 0 or tps[-1] == 0:
        return float("nan")
    fps = 1 + idx - tps
    prec = tps / (tps + fps)
    rec = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def average_precision(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    """scikit-learn's average precision (the step-wise area under the PR curve)."""
    if y.ndim == 1:
        return np.asarray(_average_precision_1d(y, score), dtype=np.float64)
    return np.array([_average_precision_1d(a, b) for a, b in zip(y, score, strict=True)])


def log_loss(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    p = np.clip(score, _EPS, 1 - _EPS)
    return np.asarray(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=-1))


def brier(y: FloatArray, score: FloatArray, threshold: float) -> FloatArray:
    return np.asarray(np.mean((score - y) ** 2, axis=-1), dtype=np.float64)


def mae(y: FloatArray, pred: FloatArray) -> FloatArray:
    return np.asarray(np.mean(np.abs(y - pred), axis=-1), dtype=np.float64)


def rmse(y: FloatArray, pred: FloatArray) -> FloatArray:
    return np.asarray(np.sqrt(np.mean((y - pred) ** 2, axis=-1)), dtype=np.float64)


def r2(y: FloatArray, pred: FloatArray) -> FloatArray:
    ss_res = np.sum((y - pred) ** 2, axis=-1)
    ss_tot = np.sum((y - np.mean(y, axis=-1, keepdims=True)) ** 2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 1 - ss_res / ss_tot
    return np.where(ss_tot > 0, value, np.where(ss_res == 0, 1.0, 0.0))


def mape(y: FloatArray, pred: FloatArray) -> FloatArray:
    return np.asarray(
        np.mean(np.abs(y - pred) / np.maximum(np.abs(y), _EPS), axis=-1), dtype=np.float64
    )


BinaryMetric = Callable[[FloatArray, FloatArray, float], FloatArray]
RegressionMetric = Callable[[FloatArray, FloatArray], FloatArray]

BINARY_METRICS: dict[str, BinaryMetric] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "roc_auc": roc_auc,
    "pr_auc": average_precision,
    "log_loss": log_loss,
    "brier": brier,
}
"""Binary classification metrics by name: ``fn(y_true, positive_score, threshold)``."""

REGRESSION_METRICS: dict[str, RegressionMetric] = {
    "mae": mae,
    "rmse": rmse,
    "r2": r2,
    "mape": mape,
}
"""Regression metrics by name: ``fn(y_true, y_pred)``."""
