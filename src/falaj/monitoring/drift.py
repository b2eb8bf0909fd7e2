"""Per-feature drift tests and the dataset-level verdict (pure numpy/scipy over sketch counts).

The test is chosen by the column's type and the current window's size (the choice follows
common practice, e.g. Evidently's defaults, and every one can be overridden per column):

============  =====================  ===========================================================
column        current rows <= 1000   current rows > 1000
============  =====================  ===========================================================
numeric       ``ks`` (p-value)       ``wasserstein`` (distance / reference std, drift >= 0.1)
categorical   ``chisquare`` (p)      ``jensenshannon`` (base 2, drift >= 0.1)
============  =====================  ===========================================================

``psi`` (population stability index over reference deciles or categories, drift >= 0.1) can be
chosen for either type. Large windows use distances because a p-value test flags practically
meaningless differences once there are many thousands of rows.

**Correction for many columns.** The p-value tests of one report are corrected together with the
Benjamini-Hochberg procedure (false discovery rate ``alpha``, 0.05 by default); ``bonferroni``
or ``none`` can be chosen. Distance tests are compared to their thresholds as they are.

**Verdict.** The dataset drifted when the share of drifted columns reaches ``drift_share``
(0.5 by default) or the model's predictions drifted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from falaj.errors import InvalidInputError
from falaj.monitoring.sketch import PSI_BINS, Array, CurrentCounts

__all__ = [
    "CORRECTIONS",
    "TESTS",
    "DriftConfig",
    "DriftReport",
    "FeatureDrift",
    "compare",
    "compare_column",
]

TESTS = {
    "numeric": ("ks", "wasserstein", "psi"),
    "categorical": ("chisquare", "jensenshannon", "psi"),
}
P_VALUE_TESTS = frozenset({"ks", "chisquare"})
DEFAULT_THRESHOLDS = {"wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}
CORRECTIONS = ("benjamini-hochberg", "bonferroni", "none")
_EPS = 1e-4


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds and choices; every field can be overridden."""

    alpha: float = 0.05
    thresholds: dict[str, float] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    drift_share: float = 0.5
    correction: str = "benjamini-hochberg"
    small_sample: int = 1000

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InvalidInputError(f"alpha {self.alpha!r} is invalid: expected 0 < alpha < 1")
        if not 0 < self.drift_share <= 1:
            raise InvalidInputError(
                f"drift_share {self.drift_share!r} is invalid: expected 0 < share <= 1"
            )
        if self.correction not in CORRECTIONS:
            raise InvalidInputError(
                f"correction {self.correction!r} is invalid: expected one of "
                f"{', '.join(CORRECTIONS)}"
            )
        known = {t for ts in TESTS.values() for t in ts}
        for column, test in self.tests.items():
            if test not in known:
                raise InvalidInputError(
                    f"test {test!r} for column {column!r} is invalid: expected one of "
                    f"{', '.join(sorted(known))}"
                )
        for test, value in self.thresholds.items():
            if test not in DEFAULT_THRESHOLDS:
                raise InvalidInputError(
                    f"threshold for {test!r} is invalid: thresholds apply to "
                    f"{', '.join(DEFAULT_THRESHOLDS)} (p-value tests use alpha)"
                )
            if not isinstance(value, int | float) or value <= 0:
                raise InvalidInputError(f"threshold {test}={value!r} is invalid: expected > 0")

    def threshold(self, test: str) -> float:
        if test in P_VALUE_TESTS:
            return self.alpha
        return float(self.thresholds.get(test, DEFAULT_THRESHOLDS[test]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "thresholds": {**DEFAULT_THRESHOLDS, **self.thresholds},
            "tests": dict(self.tests),
            "drift_share": self.drift_share,
            "correction": self.correction,
            "small_sample": self.small_sample,
        }


@dataclass(frozen=True)
class FeatureDrift:
    """One column's verdict with the statistic it was judged on and every other score."""

    column: str
    kind: str
    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    rows: int
    reference_rows: int
    scores: dict[str, float]
    null_share: float
    reference_null_share: float
    chart: dict[str, list[Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "drifted": self.drifted,
            "kind": self.kind,
            "threshold": self.threshold,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "scores": self.scores,
            "null_share": self.null_share,
            "reference_null_share": self.reference_null_share,
        }


@dataclass(frozen=True)
class DriftReport:
    """The dataset-level verdict and every feature's."""

    drifted: bool
    share_drifted: float
    features: dict[str, FeatureDrift]
    rows: int
    reference_rows: int
    config: DriftConfig
    prediction: FeatureDrift | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [c for c, f in self.features.items() if f.drifted]

    def as_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "features": {c: f.as_dict() for c, f in self.features.items()},
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "share_drifted": self.share_drifted,
            "drifted_columns": self.drifted_columns,
            "prediction": self.prediction.as_dict() if self.prediction else None,
            "config": self.config.as_dict(),
        }


# -- statistics from counts ---------------------------------------------------------------------
def _numeric_stats(cur: CurrentCounts) -> dict[str, float]:
    sk = cur.sketch
    n_r, n_c = sk.valid, cur.valid
    f_r = np.cumsum(sk.counts[:-1]) / n_r  # CDF at each edge
    f_c = np.cumsum(cur.counts[:-1]) / n_c
    diff = f_r - f_c
    ks = float(max(np.abs(diff).max(initial=0.0), cur.below / n_c))
    widths = np.diff(sk.edges)
    inner = float((0.5 * (np.abs(diff[:-1]) + np.abs(diff[1:])) * widths).sum())
    w1 = inner + (cur.below_sum + cur.above_sum) / n_c
    scale = sk.std if sk.std > 0 else (float(sk.edges[-1] - sk.edges[0]) or 1.0)
    ref_coarse = np.bincount(sk.coarse, weights=sk.counts, minlength=PSI_BINS)
    cur_coarse = np.bincount(sk.coarse, weights=cur.counts, minlength=PSI_BINS)
    from scipy.stats import kstwo

    en = n_r * n_c / (n_r + n_c)
    p = float(kstwo.sf(ks, max(1, round(en))))
    return {
        "ks": ks,
        "ks_p_value": p,
        "wasserstein": w1 / scale,
        "psi": _psi(ref_coarse, cur_coarse),
    }


def _psi(ref: Array, cur: Array) -> float:
    p = np.maximum(ref / max(ref.sum(), 1), _EPS)
    q = np.maximum(cur / max(cur.sum(), 1), _EPS)
    return float(((q - p) * np.log(q / p)).sum())


def _categorical_stats(cur: CurrentCounts) -> dict[str, float]:
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    ref, now = cur.sketch.counts.astype(np.float64), cur.counts.astype(np.float64)
    keep = (ref + now) > 0
    table = np.vstack([ref[keep], now[keep]])
    if table.shape[1] < 2:
        chi, p = 0.0, 1.0
    else:
        res = chi2_contingency(table, correction=False)
        chi, p = float(res[0]), float(res[1])
    js = float(jensenshannon(ref / ref.sum(), now / now.sum(), base=2))
    return {
        "chisquare": chi,
        "chisquare_p_value": p,
        "jensenshannon": 0.0 if np.isnan(js) else js,
        "psi": _psi(ref, now),
    }


def _chart(cur: CurrentCounts) -> dict[str, list[Any]]:
    """Reference and current shares per decile (numeric) or category, for the report."""
    sk = cur.sketch
    if sk.kind == "numeric":
        ref = np.bincount(sk.coarse, weights=sk.counts, minlength=PSI_BINS)
        now = np.bincount(sk.coarse, weights=cur.counts, minlength=PSI_BINS)
        labels = [f"d{i + 1}" for i in range(PSI_BINS)]
    else:
        ref, now = sk.counts.astype(np.float64), cur.counts.astype(np.float64)
        labels = [*sk.categories, "(other)"]
        order = np.argsort(-(ref + now))[:12]
        ref, now, labels = ref[order], now[order], [labels[i] for i in order]
    return {
        "labels": labels,
        "reference": (ref / max(sk.valid, 1)).round(6).tolist(),
        "current": (now / max(cur.valid, 1)).round(6).tolist(),
    }


def _choose(kind: str, rows: int, config: DriftConfig, column: str) -> str:
    forced = config.tests.get(column)
    if forced is not None:
        if forced not in TESTS[kind]:
            raise InvalidInputError(
                f"test {forced!r} for column {column!r} does not apply to a {kind} column: "
                f"expected one of {', '.join(TESTS[kind])}"
            )
        return forced
    small = rows <= config.small_sample
    if kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


def compare_column(cur: CurrentCounts, config: DriftConfig) -> FeatureDrift:
    """One column's statistics and its uncorrected verdict."""
    sk = cur.sketch
    if cur.valid == 0 or sk.valid == 0:
        scores: dict[str, float] = {}
    elif sk.kind == "numeric":
        scores = _numeric_stats(cur)
    else:
        scores = _categorical_stats(cur)
    test = _choose(sk.kind, cur.valid, config, sk.name)
    threshold = config.threshold(test)
    if not scores:
        statistic, p_value, drifted = float("nan"), None, False
    elif test in P_VALUE_TESTS:
        statistic, p_value = scores[test], scores[f"{test}_p_value"]
        drifted = p_value < threshold
    else:
        statistic, p_value = scores[test], None
        drifted = statistic >= threshold
    return FeatureDrift(
        column=sk.name,
        kind=sk.kind,
        test=test,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted,
        rows=cur.rows,
        reference_rows=sk.rows,
        scores=scores,
        null_share=cur.nulls / cur.rows if cur.rows else 0.0,
        reference_null_share=sk.nulls / sk.rows if sk.rows else 0.0,
        chart=_chart(cur) if scores else {"labels": [], "reference": [], "current": []},
    )


def _corrected(features: list[FeatureDrift], config: DriftConfig) -> list[FeatureDrift]:
    """Re-judge the p-value tests together (Benjamini-Hochberg or Bonferroni)."""
    tested = [i for i, f in enumerate(features) if f.p_value is not None]
    if not tested or config.correction == "none":
        return features
    p = np.array([features[i].p_value for i in tested], dtype=np.float64)
    m = len(p)
    if config.correction == "bonferroni":
        reject = p < config.alpha / m
    else:
        order = np.argsort(p)
        ranked = p[order] <= config.alpha * np.arange(1, m + 1) / m
        cutoff = int(np.nonzero(ranked)[0].max()) + 1 if ranked.any() else 0
        reject = np.zeros(m, dtype=bool)
        reject[order[:cutoff]] = True
    out = list(features)
    for j, i in enumerate(tested):
        f = out[i]
        out[i] = FeatureDrift(**{**f.__dict__, "drifted": bool(reject[j])})
    return out


def compare(
    current: dict[str, CurrentCounts],
    config: DriftConfig | None = None,
    *,
    prediction: CurrentCounts | None = None,
) -> DriftReport:
    """Every column's test, corrected for many columns, and the dataset-level verdict."""
    cfg = config or DriftConfig()
    columns = [compare_column(c, cfg) for c in current.values()]
    columns = _corrected(columns, cfg)
    pred = compare_column(prediction, cfg) if prediction is not None else None
    share = sum(f.drifted for f in columns) / len(columns) if columns else 0.0
    rows = max((c.rows for c in current.values()), default=0)
    ref_rows = max((c.sketch.rows for c in current.values()), default=0)
    drifted = bool(columns) and (share >= cfg.drift_share or bool(pred and pred.drifted))
    return DriftReport(
        drifted=drifted,
        share_drifted=share,
        features={f.column: f for f in columns},
        rows=rows,
        reference_rows=ref_rows,
        config=cfg,
        prediction=pred,
    )
