"""Request statistics a replica keeps per revision, and the summaries the controller judges on.

A :class:`RevisionStats` counts requests and errors, puts each latency into fixed histogram
buckets (:data:`LATENCY_BOUNDS_MS`, the same on every replica so buckets add up), and sketches the
predictions: for a binary classifier the positive-class probability in tenths (``p:0.3``), else
the predicted value (``v:LABEL``, numbers at two significant digits). Stats from several replicas
and windows merge by adding counts; :func:`psi` compares two sketches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LATENCY_BOUNDS_MS",
    "RevisionStats",
    "Summary",
    "psi",
    "quantile_ms",
    "shift_p_value",
    "sketch_keys",
]

#: Upper bounds (ms) of the latency histogram buckets; the last bucket is open (``inf``).
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    0.5, 1, 2, 3, 5, 7.5, 10, 15, 25, 50, 75, 100, 250, 500, 1000, 2500, 5000, 10000,
)  # fmt: skip


def _bucket(latency_ms: float) -> int:
    for i, bound in enumerate(LATENCY_BOUNDS_MS):
        if latency_ms <= bound:
            return i
    return len(LATENCY_BOUNDS_MS)


def sketch_keys(predictions: Iterable[Any], positive_proba: Iterable[float] | None) -> list[str]:
    """The sketch key of each prediction (see the module docstring)."""
    if positive_proba is not None:
        return [f"p:{min(int(float(p) * 10), 9) / 10:.1f}" for p in positive_proba]
    keys = []
    for value in predictions:
        if isinstance(value, float) and math.isfinite(value) and not float(value).is_integer():
            keys.append(f"v:{value:.2g}")
        else:
            keys.append(f"v:{value}")
    return keys


@dataclass
class RevisionStats:
    """Counts for one revision over one window (mutable; a replica's lock guards it)."""

    requests: int = 0
    errors: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    predictions: dict[str, int] = field(default_factory=dict)
    compared: int = 0
    disagreed: int = 0

    def observe(self, latency_ms: float, *, error: bool, keys: Iterable[str] = ()) -> None:
        self.requests += 1
        if error:
            self.errors += 1
        self.latency[_bucket(latency_ms)] += 1
        for key in keys:
            self.predictions[key] = self.predictions.get(key, 0) + 1

    def compare(self, agreed: int, total: int) -> None:
        self.compared += total
        self.disagreed += total - agreed

    @property
    def empty(self) -> bool:
        return self.requests == 0 and self.compared == 0

    def merge(self, other: RevisionStats) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]
        for key, count in other.predictions.items():
            self.predictions[key] = self.predictions.get(key, 0) + count
        self.compared += other.compared
        self.disagreed += other.disagreed

    def summary(self) -> Summary:
        return Summary(
            requests=self.requests,
            errors=self.errors,
            p50_ms=quantile_ms(self.latency, 0.50),
            p99_ms=quantile_ms(self.latency, 0.99),
            predictions=dict(self.predictions),
            compared=self.compared,
            disagreed=self.disagreed,
            p95_ms=quantile_ms(self.latency, 0.95),
        )


@dataclass(frozen=True)
class Summary:
    """What the rollout controller judges a revision on (frozen; carries its own evidence)."""

    requests: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    predictions: Mapping[str, int]
    compared: int = 0
    disagreed: int = 0
    p95_ms: float | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "compared": self.compared,
            "disagreed": self.disagreed,
        }


def quantile_ms(buckets: list[int], q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` (None without data; the open last
    bucket reports twice the last bound)."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = q * total
    acc = 0
    for i, count in enumerate(buckets):
        acc += count
        if acc >= rank and count:
            return LATENCY_BOUNDS_MS[i] if i < len(LATENCY_BOUNDS_MS) else LATENCY_BOUNDS_MS[-1] * 2
    return LATENCY_BOUNDS_MS[-1] * 2


def psi(expected: Mapping[str, int], actual: Mapping[str, int], *, floor: float = 1e-4) -> float:
    """Population stability index of ``actual`` against ``expected`` over the union of keys
    (empty shares floored at ``floor`` so a new key counts without dividing by zero)."""
    n_exp = sum(expected.values())
    n_act = sum(actual.values())
    if n_exp == 0 or n_act == 0:
        return 0.0
    total = 0.0
    for key in set(expected) | set(actual):
        e = max(expected.get(key, 0) / n_exp, floor)
        a = max(actual.get(key, 0) / n_act, floor)
        total += (a - e) * math.log(a / e)
    return total


def shift_p_value(expected: Mapping[str, int], actual: Mapping[str, int]) -> float:
    """The p-value of a chi-square test that both sketches come from one distribution (small
    samples make PSI large by chance; a shift counts only when it is also significant)."""
    keys = sorted(set(expected) | set(actual))
    if len(keys) < 2 or not sum(expected.values()) or not sum(actual.values()):
        return 1.0
    from scipy.stats import chi2_contingency

    table = [[expected.get(k, 0) for k in keys], [actual.get(k, 0) for k in keys]]
    return float(chi2_contingency(table)[1])
