"""Drift sketches: what drift needs of a column, computed once and reused.

A reference column is summarised once (and cached by the service, keyed by the dataset version's
content digest): a numeric column by ``bins`` quantile edges of the reference and the reference's
count in each bin; a categorical column (or a numeric one with at most ``max_levels`` distinct
values) by its category counts. The current window is then *counted into the same bins*, one
chunk at a time, so a window of millions of rows needs memory for one chunk and the counts only.

Every statistic of :mod:`falaj.monitoring.drift` is computed from these counts. For numeric
columns the empirical CDFs are exact at the reference quantile edges; between two edges the
Kolmogorov-Smirnov distance can be off by at most the mass of one bin (1/``bins`` of the
reference, 1/512 by default). The Wasserstein distance integrates the two CDFs between edges
(trapezoids) and exactly in the tails outside the reference range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DEFAULT_BINS",
    "ColumnSketch",
    "CurrentCounts",
    "ReferenceSketch",
    "build_sketch",
    "count_current",
]

DEFAULT_BINS = 512
MAX_LEVELS = 10
MAX_CATEGORIES = 1000
PSI_BINS = 10
FORMAT = 1

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class ColumnSketch:
    """One reference column: ``kind`` is ``numeric`` or ``categorical``."""

    name: str
    kind: str
    rows: int
    nulls: int
    # numeric: quantile edges, counts per bin (len(edges) + 1), decile map, moments
    edges: Array = field(default_factory=lambda: np.empty(0))
    counts: Array = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    coarse: Array = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    mean: float = 0.0
    std: float = 0.0
    # categorical: the categories (as text) and numeric levels (when the column is numeric)
    categories: tuple[str, ...] = ()
    levels: Array = field(default_factory=lambda: np.empty(0))

    @property
    def valid(self) -> int:
        return self.rows - self.nulls

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "nulls": self.nulls,
            "edges": self.edges.tolist(),
            "counts": self.counts.tolist(),
            "coarse": self.coarse.tolist(),
            "mean": self.mean,
            "std": self.std,
            "categories": list(self.categories),
            "levels": self.levels.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSketch:
        return cls(
            name=d["name"],
            kind=d["kind"],
            rows=int(d["rows"]),
            nulls=int(d["nulls"]),
            edges=np.asarray(d["edges"], dtype=np.float64),
            counts=np.asarray(d["counts"], dtype=np.int64),
            coarse=np.asarray(d["coarse"], dtype=np.int64),
            mean=float(d["mean"]),
            std=float(d["std"]),
            categories=tuple(d["categories"]),
            levels=np.asarray(d["levels"], dtype=np.float64),
        )


@dataclass(frozen=True)
class ReferenceSketch:
    """Every column's sketch, and where the reference came from."""

    reference: str
    rows: int
    columns: dict[str, ColumnSketch]

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "reference": self.reference,
            "rows": self.rows,
            "columns": [c.as_dict() for c in self.columns.values()],
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceSketch:
        body = json.loads(data)
        cols = [ColumnSketch.from_dict(c) for c in body["columns"]]
        return cls(body["reference"], int(body["rows"]), {c.name: c for c in cols})


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series)) and not pd.api.types.is_bool_dtype(series)


def _numeric_sketch(name: str, values: Array, nulls: int, bins: int) -> ColumnSketch:
    ordered = np.sort(values)
    n = len(ordered)
    if n == 0:
        return ColumnSketch(name, "numeric", nulls, nulls)
    idx = np.linspace(0, n - 1, bins + 1).round().astype(np.int64)
    edges = np.unique(ordered[idx])
    cdf = np.searchsorted(ordered, edges, side="right")
    counts = np.diff(np.concatenate([[0], cdf, [n]])).astype(np.int64)
    deciles = ordered[np.linspace(0, n - 1, PSI_BINS + 1).round().astype(np.int64)[1:-1]]
    upper = np.concatenate([edges, [np.inf]])
    coarse = np.searchsorted(deciles, upper, side="left").clip(0, PSI_BINS - 1)
    return ColumnSketch(
        name,
        "numeric",
        n + nulls,
        nulls,
        edges=edges.astype(np.float64),
        counts=counts,
        coarse=coarse.astype(np.int64),
        mean=float(ordered.mean()),
        std=float(ordered.std()),
    )


def _levels_sketch(name: str, values: Array, nulls: int) -> ColumnSketch:
    levels, counts = np.unique(values, return_counts=True)
    return ColumnSketch(
        name,
        "categorical",
        len(values) + nulls,
        nulls,
        counts=np.concatenate([counts, [0]]).astype(np.int64),
        categories=tuple(_level_text(v) for v in levels),
        levels=levels.astype(np.float64),
    )


def _level_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _categorical_sketch(name: str, series: pd.Series, max_categories: int) -> ColumnSketch:
    text = series.dropna()
    if not pd.api.types.is_string_dtype(text):
        text = text.astype(str)
    counts = text.value_counts()
    top = counts.iloc[:max_categories]
    other = int(counts.iloc[max_categories:].sum())
    return ColumnSketch(
        name,
        "categorical",
        len(series),
        int(series.isna().sum()),
        counts=np.concatenate([top.to_numpy(), [other]]).astype(np.int64),
        categories=tuple(str(c) for c in top.index),
    )


def build_sketch(
    frame: pd.DataFrame,
    *,
    reference: str,
    columns: list[str] | None = None,
    kinds: dict[str, str] | None = None,
    bins: int = DEFAULT_BINS,
    max_levels: int = MAX_LEVELS,
    max_categories: int = MAX_CATEGORIES,
) -> ReferenceSketch:
    """Sketch ``columns`` of ``frame`` (all by default). ``kinds`` forces a column's kind."""
    chosen = list(frame.columns) if columns is None else columns
    kinds = kinds or {}
    sketches: dict[str, ColumnSketch] = {}
    for name in chosen:
        series = frame[name]
        kind = kinds.get(name) or ("numeric" if _is_numeric(series) else "categorical")
        if kind == "numeric":
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
            finite = values[~np.isnan(values)]
            nulls = len(values) - len(finite)
            few = len(np.unique(finite[: 10 * max_levels + 1])) <= max_levels
            if name not in kinds and few and len(np.unique(finite)) <= max_levels:
                sketches[name] = _levels_sketch(name, finite, nulls)
                continue
            sketches[name] = _numeric_sketch(name, finite, nulls, bins)
        else:
            sketches[name] = _categorical_sketch(name, series, max_categories)
    return ReferenceSketch(reference, len(frame), sketches)


@dataclass
class CurrentCounts:
    """A current window counted into one reference column's bins (chunk after chunk)."""

    sketch: ColumnSketch
    rows: int = 0
    nulls: int = 0
    counts: Array = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    below: int = 0  # values strictly below the reference minimum
    below_sum: float = 0.0  # sum of (min - x) over them
    above_sum: float = 0.0  # sum of (x - max) over values above the reference maximum
    new_categories: int = 0

    def __post_init__(self) -> None:
        if len(self.counts) == 0:
            self.counts = np.zeros(len(self.sketch.counts), dtype=np.int64)

    @property
    def valid(self) -> int:
        return self.rows - self.nulls

    def update(self, values: pd.Series | Array) -> None:
        sk = self.sketch
        if sk.kind == "numeric" or len(sk.levels):
            arr = np.asarray(pd.Series(values).to_numpy(dtype=np.float64, na_value=np.nan))
            finite = arr[~np.isnan(arr)]
            self.rows += len(arr)
            self.nulls += len(arr) - len(finite)
            if sk.kind == "numeric":
                self._numeric(finite)
            else:
                self._levels(finite)
            return
        series = pd.Series(values)
        self.rows += len(series)
        present = series.dropna()
        if not pd.api.types.is_string_dtype(present):
            present = present.astype(str)
        self.nulls += len(series) - len(present)
        codes = pd.Categorical(present, categories=list(sk.categories)).codes.astype(np.int64)
        codes[codes < 0] = len(sk.categories)  # unseen: the "other" bucket
        self.new_categories += int((codes == len(sk.categories)).sum())
        self.counts += np.bincount(codes, minlength=len(self.counts))[: len(self.counts)]

    def _numeric(self, finite: Array) -> None:
        edges = self.sketch.edges
        if len(edges) == 0 or len(finite) == 0:
            return
        # sorting the chunk once is cheaper than a binary search per value into the edges
        ordered = np.sort(finite)
        n = len(ordered)
        at_most = np.searchsorted(ordered, edges, side="right")  # values <= each edge
        self.counts += np.diff(np.concatenate([[0], at_most, [n]])).astype(np.int64)
        low, high = float(edges[0]), float(edges[-1])
        under = int(np.searchsorted(ordered, low, side="left"))
        self.below += under
        self.below_sum += under * low - float(ordered[:under].sum())
        over = int(at_most[-1])
        self.above_sum += float(ordered[over:].sum()) - (n - over) * high

    def _levels(self, finite: Array) -> None:
        levels = self.sketch.levels
        pos = np.searchsorted(levels, finite).clip(0, len(levels) - 1)
        hit = levels[pos] == finite
        codes = np.where(hit, pos, len(levels))
        self.new_categories += int((~hit).sum())
        self.counts += np.bincount(codes, minlength=len(self.counts))[: len(self.counts)]


def count_current(sketch: ReferenceSketch, frame: pd.DataFrame) -> dict[str, CurrentCounts]:
    """Count one in-memory frame (for windows that fit; the service counts chunk by chunk)."""
    out = {name: CurrentCounts(col) for name, col in sketch.columns.items() if name in frame}
    for name, acc in out.items():
        acc.update(frame[name])
    return out
