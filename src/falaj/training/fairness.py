"""Fairness audit with fairlearn: group metrics with intervals, disparities, a stated policy.

For each declared sensitive feature (and, on request, their intersection) the audit reports per
group: count, selection rate, true and false positive rates and accuracy (fairlearn
``MetricFrame``), each with a seeded bootstrap interval resampled within the group; and the
demographic parity difference and ratio and the equalized odds difference (fairlearn).

There is no hidden threshold. A :class:`FairnessPolicy` states each threshold with the
justification for it, and the justification is carried into the report. Audited without a
policy, the report holds the metrics and ``passed is None``: no verdict. Groups smaller than the
stated ``min_group_size`` are flagged unreliable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from falaj.training.errors import EvaluationInputError, FairnessPolicyError

__all__ = [
    "DISPARITY_METRICS",
    "FairnessPolicy",
    "FairnessReport",
    "FeatureAudit",
    "GroupMetrics",
    "Threshold",
    "ThresholdResult",
    "audit_fairness",
]

DISPARITY_METRICS: dict[str, str] = {
    "demographic_parity_difference": "max",
    "demographic_parity_ratio": "min",
    "equalized_odds_difference": "max",
}
"""The disparity metrics a policy may bound, and the direction in which each is bounded."""

GROUP_METRICS = ("selection_rate", "tpr", "fpr", "accuracy")
_THRESHOLD_KEYS = {"metric", "max", "min", "justification"}


@dataclass(frozen=True)
class Threshold:
    """``metric`` must stay at or below ``max`` (differences) or at or above ``min`` (ratios)."""

    metric: str
    justification: str
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in DISPARITY_METRICS:
            raise FairnessPolicyError(
                f"threshold metric {self.metric!r} is unknown: expected one of "
                f"{sorted(DISPARITY_METRICS)}"
            )
        if not isinstance(self.justification, str) or len(self.justification.strip()) < 10:
            raise FairnessPolicyError(
                f"threshold on {self.metric!r} has justification {self.justification!r}: "
                "expected a sentence saying why this threshold (at least 10 characters)"
            )
        direction = DISPARITY_METRICS[self.metric]
        bound = self.max if direction == "max" else self.min
        other = self.min if direction == "max" else self.max
        if bound is None or other is not None:
            raise FairnessPolicyError(
                f"threshold on {self.metric!r} must set {direction!r} (and only it): got "
                f"max={self.max!r}, min={self.min!r}"
            )
        if not (isinstance(bound, int | float) and math.isfinite(bound) and bound >= 0):
            raise FairnessPolicyError(
                f"threshold on {self.metric!r}: {direction}={bound!r} is not a non-negative number"
            )

    @property
    def bound(self) -> float:
        value = self.max if self.max is not None else self.min
        assert value is not None
        return float(value)

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        return value <= self.bound if self.max is not None else value >= self.bound

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "max": self.max,
            "min": self.min,
            "justification": self.justification,
        }


@dataclass(frozen=True)
class FairnessPolicy:
    """Thresholds, each with its justification, and the smallest group trusted for a verdict."""

    thresholds: tuple[Threshold, ...]
    min_group_size: int
    name: str = "fairness-policy"

    def __post_init__(self) -> None:
        if not isinstance(self.min_group_size, int) or self.min_group_size < 1:
            raise FairnessPolicyError(
                f"min_group_size {self.min_group_size!r} is invalid: expected a positive integer"
            )
        if not self.thresholds:
            raise FairnessPolicyError("a fairness policy needs at least one threshold")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessPolicy:
        """From ``{"min_group_size": n, "thresholds": [{metric, max|min, justification}]}``."""
        if not isinstance(data, Mapping):
            raise FairnessPolicyError(
                f"fairness policy must be a mapping, got {type(data).__name__}"
            )
        unknown = sorted(str(k) for k in set(data) - {"name", "min_group_size", "thresholds"})
        if unknown:
            raise FairnessPolicyError(
                f"fairness policy has unknown key(s) {unknown}: expected name, min_group_size, "
                "thresholds"
            )
        raw = data.get("thresholds")
        if not isinstance(raw, list):
            raise FairnessPolicyError(f"fairness policy 'thresholds' is {raw!r}: expected a list")
        thresholds = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping) or set(item) - {
                "metric",
                "max",
                "min",
                "justification",
            }:
                raise FairnessPolicyError(
                    f"fairness policy thresholds[{i}] is {item!r}: expected keys metric, "
                    "max or min, justification"
                )
            thresholds.append(
                Threshold(
                    metric=str(item.get("metric")),
                    justification=item.get("justification", ""),
                    max=item.get("max"),
                    min=item.get("min"),
                )
            )
        return cls(
            thresholds=tuple(thresholds),
            min_group_size=data.get("min_group_size"),  # type: ignore[arg-type]
            name=str(data.get("name", "fairness-policy")),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_group_size": self.min_group_size,
            "thresholds": [t.as_dict() for t in self.thresholds],
        }


@dataclass(frozen=True)
class GroupMetrics:
    group: str
    count: int
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    reliable: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "count": self.count,
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "intervals": {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in self.intervals.items()},
            "reliable": self.reliable,
        }


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    value: float
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return {**self.threshold.as_dict(), "value": _jsonable(self.value), "passed": self.passed}


@dataclass(frozen=True)
class FeatureAudit:
    """The audit of one sensitive feature, or of an intersection (``features`` has several)."""

    features: tuple[str, ...]
    groups: list[GroupMetrics]
    disparities: dict[str, float]
    checks: list[ThresholdResult]

    @property
    def name(self) -> str:
        return " x ".join(self.features)

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "groups": [g.as_dict() for g in self.groups],
            "disparities": {k: _jsonable(v) for k, v in self.disparities.items()},
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class FairnessReport:
    audits: list[FeatureAudit]
    policy: FairnessPolicy | None
    min_group_size: int
    confidence: float
    n_bootstrap: int
    seed: int
    n_samples: int
    unreliable_groups: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        """``None`` without a policy (no verdict); otherwise every threshold on every audit."""
        if self.policy is None:
            return None
        return all(c.passed for a in self.audits for c in a.checks)

    @property
    def sensitive_features(self) -> list[str]:
        return sorted({f for a in self.audits for f in a.features})

    def worst(self) -> dict[str, float]:
        """Each disparity at its worst across the audits (largest difference, smallest ratio)."""
        out: dict[str, float] = {}
        for metric, direction in DISPARITY_METRICS.items():
            values = [a.disparities[metric] for a in self.audits if metric in a.disparities]
            finite = [v for v in values if math.isfinite(v)]
            if finite:
                out[metric] = max(finite) if direction == "max" else min(finite)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "policy": self.policy.as_dict() if self.policy else None,
            "min_group_size": self.min_group_size,
            "confidence": self.confidence,
            "n_bootstrap": self.n_bootstrap,
            "seed": self.seed,
            "n_samples": self.n_samples,
            "unreliable_groups": self.unreliable_groups,
            "audits": [a.as_dict() for a in self.audits],
        }

    def evidence_summary(self) -> dict[str, Any]:
        """The ``fairness`` evidence shape that promotion gates read."""
        return {
            "sensitive_features": self.sensitive_features,
            "metrics": {k: _jsonable(v) for k, v in self.worst().items()},
            "by_feature": {
                a.name: {k: _jsonable(v) for k, v in a.disparities.items()} for a in self.audits
            },
            "passed": self.passed,
            "thresholds": [t.as_dict() for t in self.policy.thresholds] if self.policy else [],
            "unreliable_groups": self.unreliable_groups,
            "min_group_size": self.min_group_size,
        }


def audit_fairness(
    y_true: Any,
    y_pred: Any,
    sensitive_features: pd.DataFrame | Mapping[str, Sequence[Any]],
    *,
    policy: FairnessPolicy | None = None,
    min_group_size: int | None = None,
    intersections: bool = False,
    positive_label: Any = 1,
    n_bootstrap: int = 500,
    confidence: float = 0.95,
    seed: int = 0,
) -> FairnessReport:
    """Audit binary predictions ``y_pred`` against ``y_true`` for each sensitive feature.

    ``min_group_size`` comes from the policy when one is given; without a policy it must be
    stated (there is no hidden default).
    """
    if policy is not None:
        if min_group_size is not None and min_group_size != policy.min_group_size:
            raise FairnessPolicyError(
                f"min_group_size {min_group_size} contradicts the policy's "
                f"{policy.min_group_size}: state it in one place"
            )
        min_group_size = policy.min_group_size
    if min_group_size is None or not isinstance(min_group_size, int) or min_group_size < 1:
        raise FairnessPolicyError(
            f"min_group_size {min_group_size!r} is invalid: state the smallest group size whose "
            "metrics you trust (a positive integer), or pass a policy"
        )
    if not 0 < confidence < 1:
        raise EvaluationInputError(f"confidence {confidence!r} is invalid: expected 0..1")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise EvaluationInputError(
            f"n_bootstrap {n_bootstrap!r} is invalid: expected a non-negative integer"
        )
    y, pred = _binary(y_true, "y_true", positive_label), _binary(y_pred, "y_pred", positive_label)
    if y.shape != pred.shape:
        raise EvaluationInputError(f"y_pred has {pred.size} rows: expected {y.size}")
    frame = (
        sensitive_features.reset_index(drop=True)
        if isinstance(sensitive_features, pd.DataFrame)
        else pd.DataFrame(dict(sensitive_features))
    )
    if frame.shape[1] == 0:
        raise EvaluationInputError("sensitive_features is empty: declare at least one feature")
    if len(frame) != y.size:
        raise EvaluationInputError(
            f"sensitive_features have {len(frame)} rows: expected {y.size} (one per prediction)"
        )
    frame = frame.astype("string").fillna("<missing>")
    feature_sets: list[tuple[str, ...]] = [(str(c),) for c in frame.columns]
    if intersections and frame.shape[1] > 1:
        feature_sets.append(tuple(str(c) for c in frame.columns))
    audits = [
        _audit_one(
            y, pred, frame[list(fs)], fs, policy, min_group_size, n_bootstrap, confidence, seed
        )
        for fs in feature_sets
    ]
    unreliable = [f"{a.name}={g.group}" for a in audits for g in a.groups if not g.reliable]
    return FairnessReport(
        audits=audits,
        policy=policy,
        min_group_size=min_group_size,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        seed=seed,
        n_samples=int(y.size),
        unreliable_groups=unreliable,
    )


def _binary(values: Any, name: str, positive_label: Any) -> np.ndarray[Any, Any]:
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim != 1 or arr.size == 0:
        raise EvaluationInputError(f"{name} has shape {arr.shape}: expected a non-empty 1-D array")
    classes = set(pd.unique(pd.Series(arr)).tolist())
    if len(classes) > 2:
        raise EvaluationInputError(
            f"{name} holds {len(classes)} classes: the fairness audit expects binary outcomes"
        )
    out: np.ndarray[Any, Any] = (arr == positive_label).astype(np.int64)
    return out


def _audit_one(
    y: np.ndarray[Any, Any],
    pred: np.ndarray[Any, Any],
    features: pd.DataFrame,
    names: tuple[str, ...],
    policy: FairnessPolicy | None,
    min_group_size: int,
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> FeatureAudit:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    sf: pd.Series[Any] | pd.DataFrame = features.iloc[:, 0] if len(names) == 1 else features
    frame = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=sf,
    )
    labels = features.agg(" & ".join, axis=1).to_numpy() if len(names) > 1 else sf.to_numpy()
    groups: list[GroupMetrics] = []
    for key, row in frame.by_group.iterrows():
        label = " & ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        idx = np.flatnonzero(labels == label)
        if not row["count"] > 0:  # a combination of values no row has (intersections)
            continue
        n = int(row["count"])
        groups.append(
            GroupMetrics(
                group=label,
                count=n,
                metrics={m: float(row[m]) for m in GROUP_METRICS},
                intervals=_group_intervals(y[idx], pred[idx], n_bootstrap, confidence, seed),
                reliable=n >= min_group_size,
            )
        )
    disparities = {
        "demographic_parity_difference": float(
            demographic_parity_difference(y, pred, sensitive_features=sf)
        ),
        "demographic_parity_ratio": float(demographic_parity_ratio(y, pred, sensitive_features=sf)),
        "equalized_odds_difference": float(
            equalized_odds_difference(y, pred, sensitive_features=sf)
        ),
    }
    checks = (
        [
            ThresholdResult(t, disparities[t.metric], t.holds(disparities[t.metric]))
            for t in policy.thresholds
        ]
        if policy is not None
        else []
    )
    return FeatureAudit(features=names, groups=groups, disparities=disparities, checks=checks)


def _group_intervals(
    y: np.ndarray[Any, Any],
    pred: np.ndarray[Any, Any],
    n_bootstrap: int,
    confidence: float,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the group's rates, resampling rows within the group."""
    if n_bootstrap == 0 or y.size == 0:
        return {}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, y.size, size=(n_bootstrap, y.size))
    yb, pb = y[idx], pred[idx]
    pos = yb.sum(axis=1)
    neg = y.size - pos
    tp = (yb & pb).sum(axis=1)
    fp = ((1 - yb) & pb).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = {
            "selection_rate": pb.mean(axis=1),
            "tpr": np.where(pos > 0, tp / pos, np.nan),
            "fpr": np.where(neg > 0, fp / neg, np.nan),
            "accuracy": (yb == pb).mean(axis=1),
        }
    alpha = (1 - confidence) / 2
    out: dict[str, tuple[float, float]] = {}
    for name, values in samples.items():
        finite = values[np.isfinite(values)]
        if finite.size:
            lo, hi = np.quantile(finite, [alpha, 1 - alpha])
            out[name] = (float(lo), float(hi))
    return out


def _jsonable(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
