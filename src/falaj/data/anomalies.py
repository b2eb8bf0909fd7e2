"""Anomaly detection on a new batch, against a reference version's profile.

Checks, each with a configurable threshold (:class:`Thresholds`) and a finding in words:

- volume: the batch's row count is far from the reference's;
- schema: columns missing from the batch, or new ones;
- null rate: a column's share of nulls rose;
- unseen categories: values the reference never had (when its category list is complete);
- out of range: numbers outside the reference's [min, max];
- distribution shift: PSI over the reference histogram bins (numbers) or categories, with the
  binned Kolmogorov-Smirnov distance reported alongside;
- outliers (optional): IsolationForest fitted on the reference rows scores each batch row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from falaj.data.profile import ColumnProfile, Profile, profile_table
from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "AnomalyReport",
    "Finding",
    "NumericStats",
    "Thresholds",
    "category_counts",
    "compare",
    "detect",
    "numeric_stats",
    "psi",
]

_EPS = 1e-4


@dataclass(frozen=True)
class Thresholds:
    """When a difference becomes a finding. Defaults follow common data-quality practice."""

    #: relative change of the row count (0.5: half as many or 1.5x as many rows)
    volume_change: float = 0.5
    #: absolute rise of a column's null rate (0.05: five percentage points)
    null_rate_increase: float = 0.05
    #: share of non-null batch values in categories the reference never had
    unseen_share: float = 0.0
    #: share of batch values outside the reference [min, max]
    out_of_range_share: float = 0.01
    #: PSI from which a shift is a warning / an alert (0.1 / 0.25 is the usual reading)
    psi_warning: float = 0.1
    psi_alert: float = 0.25
    #: fewer non-null batch values than this: no distribution test for the column
    min_values: int = 30
    #: rise of the share of outlier rows (IsolationForest) over the reference's own share
    outlier_share_increase: float = 0.05


@dataclass(frozen=True)
class Finding:
    column: str | None
    kind: str
    severity: str  # "warning" | "alert"
    message: str
    value: float | None = None
    threshold: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "value": self.value,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class AnomalyReport:
    reference_id: str | None
    reference_rows: int
    batch_rows: int
    findings: list[Finding]
    #: per column: psi, ks, null rates, out-of-range share... (whatever applied)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    #: the most anomalous batch rows by IsolationForest score: (position, score), worst first
    outlier_rows: list[tuple[int, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def flagged_columns(self) -> list[str]:
        return sorted({f.column for f in self.findings if f.column is not None})

    def for_column(self, column: str) -> list[Finding]:
        return [f for f in self.findings if f.column == column]

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "reference_rows": self.reference_rows,
            "batch_rows": self.batch_rows,
            "ok": self.ok,
            "findings": [f.as_dict() for f in self.findings],
            "metrics": self.metrics,
            "outlier_rows": [list(r) for r in self.outlier_rows],
        }

    def summary(self) -> str:
        if self.ok:
            return f"no anomalies against {self.reference_id or 'the reference'}"
        lines = [f"{len(self.findings)} anomalies against {self.reference_id or 'the reference'}:"]
        lines += [f"  [{f.severity}] {f.message}" for f in self.findings]
        return "\n".join(lines)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two count vectors over the same bins."""
    import numpy as np

    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e = np.clip(e / e.sum(), _EPS, None)
    a = np.clip(a / a.sum(), _EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _ks(expected: np.ndarray, actual: np.ndarray) -> float:
    import numpy as np

    e = np.cumsum(expected) / max(float(np.sum(expected)), 1.0)
    a = np.cumsum(actual) / max(float(np.sum(actual)), 1.0)
    return float(np.max(np.abs(e - a))) if len(e) else 0.0


def _thresholds(value: Thresholds | dict[str, float] | None) -> Thresholds:
    """``Thresholds``, or a dict of some of its fields (the rest keep their defaults)."""
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    names = [f.name for f in fields(Thresholds)]
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"thresholds {value!r} is invalid: expected Thresholds(...) or a dict with keys {names}"
        )
    unknown = sorted(set(value) - set(names))
    if unknown:
        raise InvalidInputError(f"thresholds names unknown field(s) {unknown}: expected {names}")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise InvalidInputError(f"thresholds[{key!r}] = {number!r} is invalid: expected >= 0")
    fields_given: dict[str, Any] = dict(value)
    return Thresholds(**fields_given)


def detect(
    reference: Profile,
    batch: pd.DataFrame,
    *,
    thresholds: Thresholds | dict[str, float] | None = None,
    reference_id: str | None = None,
    reference_frame: pd.DataFrame | None = None,
) -> AnomalyReport:
    """Compare ``batch`` with the ``reference`` profile; ``reference_frame`` adds outliers."""
    import pandas as pd
    import pyarrow as pa

    if not isinstance(batch, pd.DataFrame):
        raise InvalidInputError(
            f"batch of type {type(batch).__name__} is invalid: expected a pandas DataFrame or a "
            "dataset version id such as 'orders@4'"
        )
    if len(batch.columns) == 0:
        raise InvalidInputError("the batch has no columns: expected the reference's columns")
    t = _thresholds(thresholds)
    table = pa.Table.from_pandas(batch, preserve_index=False)
    current = profile_table(table)

    def numeric(ref: ColumnProfile) -> NumericStats | None:
        return numeric_stats(ref, batch[ref.name])

    def categories(name: str) -> dict[Any, int]:
        return category_counts(batch[name])

    outlier_rows: list[tuple[int, float]] = []
    found: list[Finding] = []
    if reference_frame is not None:
        found, outlier_rows = _outliers(reference_frame, batch, t)
    return compare(reference, current, numeric, categories, t, reference_id, found, outlier_rows)


def compare(
    reference: Profile,
    current: Profile,
    numeric: Callable[[ColumnProfile], NumericStats | None],
    categories: Callable[[str], dict[Any, int]],
    t: Thresholds,
    reference_id: str | None,
    extra: list[Finding] | None = None,
    outlier_rows: list[tuple[int, float]] | None = None,
) -> AnomalyReport:
    """The report, from the batch's profile and its per-column statistics (however computed).

    ``numeric(ref)`` gives the batch's values of a numeric column summarized against the
    reference column (range counts, histogram over its bins); ``categories(name)`` the batch's
    value counts of a categorical column, most frequent first (ties: first seen first).
    """
    findings: list[Finding] = []
    metrics: dict[str, dict[str, float]] = {}
    findings += _volume(reference.row_count, current.row_count, t)
    for name in reference.columns:
        if name not in current.columns:
            findings.append(
                Finding(
                    name, "missing_column", "alert", f"{name}: column is missing from the batch"
                )
            )
    for name, col in current.columns.items():
        ref = reference.columns.get(name)
        if ref is None:
            findings.append(
                Finding(name, "new_column", "warning", f"{name}: column is new (not in reference)")
            )
            continue
        m: dict[str, float] = {
            "null_rate_reference": ref.null_rate,
            "null_rate_batch": col.null_rate,
        }
        findings += _nulls(ref, col, t)
        if ref.kind == "numeric" and col.kind == "numeric":
            findings += _numeric(ref, numeric(ref), t, m)
        elif ref.kind in ("categorical", "boolean") and col.kind in ("categorical", "boolean"):
            findings += _categorical(ref, categories(name), t, m)
        elif ref.kind != col.kind:
            findings.append(
                Finding(name, "type_change", "alert",
                        f"{name}: values are {col.kind} ({col.type}), the reference's were "
                        f"{ref.kind} ({ref.type})")
            )  # fmt: skip
        metrics[name] = m
    findings += extra or []
    order = {"alert": 0, "warning": 1}
    findings.sort(key=lambda f: (order.get(f.severity, 2), f.column or ""))
    return AnomalyReport(
        reference_id=reference_id,
        reference_rows=reference.row_count,
        batch_rows=current.row_count,
        findings=findings,
        metrics=metrics,
        outlier_rows=outlier_rows or [],
    )


@dataclass(frozen=True)
class NumericStats:
    """A batch column's non-missing values, summarized against a reference column."""

    count: int
    below: int
    above: int
    #: counts over the reference histogram's bins of the values clipped to its edges
    histogram: list[int] | None
    minimum: float
    maximum: float
    mean: float
    median: float


def numeric_stats(ref: ColumnProfile, series: pd.Series) -> NumericStats | None:
    """:class:`NumericStats` of an in-memory column (None: no values, or no reference range)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if not len(values) or ref.min is None or ref.max is None:
        return None
    histogram = None
    if ref.histogram is not None:
        edges = np.asarray(ref.histogram.edges, dtype=float)
        inner = np.clip(values, edges[0], edges[-1])
        histogram = (
            [int(c) for c in np.histogram(inner, bins=edges)[0]]
            if len(edges) > 1
            else [len(values)]
        )
    return NumericStats(
        count=len(values),
        below=int(np.sum(values < ref.min)),
        above=int(np.sum(values > ref.max)),
        histogram=histogram,
        minimum=float(values.min()),
        maximum=float(values.max()),
        mean=float(np.mean(values)),
        median=float(np.median(values)),
    )


def category_counts(series: pd.Series) -> dict[Any, int]:
    """Value counts of an in-memory column, most frequent first."""
    counts = series.dropna().astype(object).value_counts()
    return {_key(v): int(c) for v, c in counts.items()}


def _volume(ref_rows: int, rows: int, t: Thresholds) -> list[Finding]:
    if ref_rows == 0:
        return []
    change = rows / ref_rows - 1.0
    if abs(change) <= t.volume_change:
        return []
    direction = "more" if change > 0 else "fewer"
    return [
        Finding(
            None, "volume", "alert" if abs(change) > 2 * t.volume_change else "warning",
            f"volume: the batch has {rows:,} rows, {abs(change):.0%} {direction} than the "
            f"reference's {ref_rows:,} (threshold {t.volume_change:.0%}); check for a partial "
            "or duplicated load",
            change, t.volume_change,
        )
    ]  # fmt: skip


def _nulls(ref: ColumnProfile, col: ColumnProfile, t: Thresholds) -> list[Finding]:
    rise = col.null_rate - ref.null_rate
    if rise <= t.null_rate_increase:
        return []
    return [
        Finding(
            col.name, "null_rate", "alert" if rise > 4 * t.null_rate_increase else "warning",
            f"{col.name}: null rate rose from {ref.null_rate:.1%} to {col.null_rate:.1%} "
            f"({col.null_count:,} nulls); check the upstream join or extraction of this field",
            rise, t.null_rate_increase,
        )
    ]  # fmt: skip


def _numeric(
    ref: ColumnProfile, stats: NumericStats | None, t: Thresholds, m: dict[str, float]
) -> list[Finding]:
    import numpy as np

    name = ref.name
    findings: list[Finding] = []
    if stats is None or ref.min is None or ref.max is None:
        return findings
    below, above = stats.below, stats.above
    share = (below + above) / stats.count
    m["out_of_range_share"] = share
    if share > t.out_of_range_share:
        findings.append(
            Finding(
                name, "out_of_range", "warning",
                f"{name}: {share:.1%} of values lie outside the reference range "
                f"[{ref.min:g}, {ref.max:g}] ({below:,} below, {above:,} above; batch range "
                f"[{stats.minimum:g}, {stats.maximum:g}])",
                share, t.out_of_range_share,
            )
        )  # fmt: skip
    if ref.histogram is None or stats.histogram is None or stats.count < t.min_values:
        return findings
    expected = np.concatenate([[0.0], np.asarray(ref.histogram.counts, dtype=float), [0.0]])
    counts = np.asarray(stats.histogram, dtype=float)
    counts[0] -= below
    counts[-1] -= above
    actual = np.concatenate([[below], counts, [above]])
    score, ks = psi(expected, actual), _ks(expected, actual)
    m["psi"], m["ks"] = score, ks
    if score >= t.psi_warning:
        ref_median = ref.quantiles.get("0.5")
        findings.append(
            Finding(
                name, "distribution_shift", "alert" if score >= t.psi_alert else "warning",
                f"{name}: distribution shifted (PSI {score:.2f} >= {t.psi_warning}, KS {ks:.2f}): "
                f"median {ref_median:g} -> {stats.median:g}, mean {ref.mean or 0:g} -> "
                f"{stats.mean:g}"
                + (f", {share:.1%} of values outside the reference range" if share else "")
                + "; check for a unit, scale or business-logic change upstream before training "
                "on it",
                score, t.psi_warning,
            )
        )  # fmt: skip
    return findings


def _categorical(
    ref: ColumnProfile, batch: dict[Any, int], t: Thresholds, m: dict[str, float]
) -> list[Finding]:
    import numpy as np

    name = ref.name
    total = sum(batch.values())
    findings: list[Finding] = []
    if not total:
        return findings
    known = {_key(v) for v, _ in ref.top}
    if ref.top_complete:
        unseen = {v: c for v, c in batch.items() if v not in known}
        share = sum(unseen.values()) / total
        m["unseen_share"] = share
        if unseen and share > t.unseen_share:
            listed = ", ".join(
                f"{v!r} ({c})" for v, c in sorted(unseen.items(), key=lambda x: -x[1])[:5]
            )
            findings.append(
                Finding(
                    name, "unseen_categories", "alert" if share > 0.05 else "warning",
                    f"{name}: {len(unseen)} {'category' if len(unseen) == 1 else 'categories'} "
                    f"never seen in the reference {'covers' if len(unseen) == 1 else 'cover'} "
                    f"{share:.1%} of rows: {listed}; map them or extend the allowed values",
                    share, t.unseen_share,
                )
            )  # fmt: skip
    if total < t.min_values:
        return findings
    # Unseen values are reported above; the mix is compared over the reference's categories
    # (plus "other" when the reference list was truncated).
    ref_total = sum(c for _, c in ref.top)
    categories = [_key(v) for v, _ in ref.top]
    seen_total = sum(batch.get(c, 0) for c in categories)
    expected_counts = [c for _, c in ref.top]
    actual_counts = [batch.get(c, 0) for c in categories]
    if not ref.top_complete:
        expected_counts.append(max(ref.count - ref.null_count - ref_total, 0))
        actual_counts.append(total - seen_total)
    expected = np.array(expected_counts, dtype=float)
    actual = np.array(actual_counts, dtype=float)
    score = psi(expected, actual)
    m["psi"] = score
    if score >= t.psi_warning:
        ref_freq = {_key(v): c / max(ref_total, 1) for v, c in ref.top}
        base = max(seen_total if ref.top_complete else total, 1)
        moved = sorted(categories, key=lambda c: -abs(batch.get(c, 0) / base - ref_freq[c]))[:3]
        changes = ", ".join(
            f"{c!r} {ref_freq[c]:.0%} -> {batch.get(c, 0) / base:.0%}" for c in moved
        )
        findings.append(
            Finding(
                name, "distribution_shift", "alert" if score >= t.psi_alert else "warning",
                f"{name}: category mix shifted (PSI {score:.2f} >= {t.psi_warning}): {changes}",
                score, t.psi_warning,
            )
        )  # fmt: skip
    return findings


def _key(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _outliers(
    reference: pd.DataFrame, batch: pd.DataFrame, t: Thresholds
) -> tuple[list[Finding], list[tuple[int, float]]]:
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import IsolationForest

    columns = [
        c for c in reference.columns
        if c in batch.columns and pd.api.types.is_numeric_dtype(reference[c])
        and not pd.api.types.is_bool_dtype(reference[c])
    ]  # fmt: skip
    if not columns or len(reference) < 10 or not len(batch):
        return [], []
    ref = reference[columns].astype(float)
    medians = ref.median()
    now = batch[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    sample = ref.fillna(medians)
    if len(sample) > 20_000:
        sample = sample.sample(20_000, random_state=0)
    forest = IsolationForest(n_estimators=100, contamination=0.05, random_state=0)
    forest.fit(sample.to_numpy())
    ref_share = float(np.mean(forest.predict(sample.to_numpy()) == -1))
    scores = -forest.score_samples(now.fillna(medians).to_numpy())
    flagged = forest.predict(now.fillna(medians).to_numpy()) == -1
    share = float(np.mean(flagged))
    worst = np.argsort(-scores)[:10]
    rows = [(int(i), round(float(scores[i]), 4)) for i in worst if flagged[i]]
    if share - ref_share <= t.outlier_share_increase or math.isnan(share):
        return [], rows
    return [
        Finding(
            None, "outliers", "warning",
            f"outliers: {share:.1%} of batch rows look unlike the reference rows (IsolationForest "
            f"over {', '.join(columns)}), against {ref_share:.1%} in the reference; inspect rows "
            f"{[r for r, _ in rows[:5]]}",
            share - ref_share, t.outlier_share_increase,
        )
    ], rows  # fmt: skip
