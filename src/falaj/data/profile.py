"""Column profiles: what a dataset version looks like, computed by DuckDB over Arrow or Parquet.

Per column: null rate and distinct count (exact up to :data:`EXACT_DISTINCT_ROWS` rows, then a
HyperLogLog estimate for numbers and dates; always exact for categories). For numbers:
min/max/mean/std, exact quantiles (linear interpolation) and an equal-width histogram (bin
edges + counts, reused by anomaly detection and monitoring as the drift reference). For
categories and booleans: the most frequent values with their counts (every value when there are
at most :data:`MAX_CATEGORIES`). For dates and times: min and max. DuckDB scans the columnar
data in parallel in three passes (scalar statistics, every histogram at once, top values per
category), so 1M rows x 30 columns profile in seconds. A Parquet file is profiled out of core:
DuckDB runs under :data:`DUCKDB_MEMORY_LIMIT` and spills to a scratch folder.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = [
    "HISTOGRAM_BINS",
    "MAX_CATEGORIES",
    "QUANTILES",
    "ColumnProfile",
    "Histogram",
    "Profile",
    "column_kind",
    "profile_parquet",
    "profile_table",
]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
MAX_CATEGORIES = 1000
TOP_CATEGORIES = 20
#: above this many rows, numeric and temporal distinct counts are HyperLogLog estimates (~2%)
EXACT_DISTINCT_ROWS = 200_000
#: DuckDB's memory cap when profiling files; beyond it sorts and aggregates spill to disk
DUCKDB_MEMORY_LIMIT = "1GB"
#: exact quantiles hold a column's values: in one pass while all numeric columns fit in this
#: many bytes, else one column per pass
QUANTILE_ONE_PASS_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Histogram:
    """``counts[i]`` values fell in ``[edges[i], edges[i+1])`` (the last bin is closed)."""

    edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    kind: str  # numeric | categorical | boolean | temporal | other
    type: str
    count: int
    null_count: int
    null_rate: float
    distinct_count: int
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    histogram: Histogram | None = None
    top: list[tuple[Any, int]] = field(default_factory=list)
    #: True when ``top`` lists every value (distinct count <= MAX_CATEGORIES)
    top_complete: bool = False
    #: False when ``distinct_count`` is a HyperLogLog estimate (large numeric/temporal columns)
    distinct_exact: bool = True
    #: True when values were left out because the column is classified ``pii``
    redacted: bool = False

    def frequencies(self) -> dict[Any, float]:
        """Share of non-null rows per listed category."""
        non_null = self.count - self.null_count
        return {v: c / non_null for v, c in self.top} if non_null else {}


@dataclass(frozen=True)
class Profile:
    row_count: int
    columns: dict[str, ColumnProfile]

    def to_dict(self) -> dict[str, Any]:
        return {"row_count": self.row_count, "columns": [asdict(c) for c in self.columns.values()]}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), sort_keys=True, default=str).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        columns: dict[str, ColumnProfile] = {}
        for raw in data["columns"]:
            item = dict(raw)
            hist = item.pop("histogram", None)
            item["top"] = [(v, int(c)) for v, c in item.get("top", [])]
            columns[item["name"]] = ColumnProfile(
                **item, histogram=Histogram(**hist) if hist else None
            )
        return cls(row_count=int(data["row_count"]), columns=columns)

    @classmethod
    def from_json(cls, data: bytes) -> Profile:
        return cls.from_dict(json.loads(data))


def column_kind(t: pa.DataType) -> str:
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        return column_kind(t.value_type)
    if pt.is_boolean(t):
        return "boolean"
    if pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t):
        return "numeric"
    if pt.is_string(t) or pt.is_large_string(t):
        return "categorical"
    if pt.is_temporal(t):
        return "temporal"
    return "other"


def profile_table(table: pa.Table, *, redact: Iterable[str] = ()) -> Profile:
    """Profile an in-memory Arrow table (zero-copy into DuckDB).

    Columns in ``redact`` keep their counts (nulls, distinct) but no values: no min/max,
    quantiles, histogram or top categories, so a profile never spreads personal data.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.register("falaj_profiled", table)
        return _redacted(_profile(con, table.schema, table), redact)
    finally:
        con.close()


def profile_parquet(path: str | Path, *, redact: Iterable[str] = ()) -> Profile:
    """Profile a Parquet file without loading it into memory (``redact``: as for tables)."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    with bounded_duckdb() as con:
        literal = "'" + str(Path(path)).replace("'", "''") + "'"
        con.execute(f"CREATE VIEW falaj_profiled AS SELECT * FROM read_parquet({literal})")
        return _redacted(_profile(con, schema), redact)


@contextmanager
def bounded_duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection held to :data:`DUCKDB_MEMORY_LIMIT`, spilling to a scratch folder.

    ``FALAJ_DUCKDB_MEMORY_LIMIT`` (e.g. ``512MB``) overrides the limit for this process.
    """
    import tempfile

    import duckdb

    limit = os.environ.get("FALAJ_DUCKDB_MEMORY_LIMIT", DUCKDB_MEMORY_LIMIT)
    with tempfile.TemporaryDirectory(prefix="falaj-duckdb-") as spill:
        con = duckdb.connect(
            config={
                "memory_limit": limit,
                "temp_directory": spill,
                "preserve_insertion_order": False,
            }
        )
        try:
            yield con
        finally:
            con.close()


def _redacted(profile: Profile, redact: Iterable[str]) -> Profile:
    hidden = set(redact)
    if not hidden & set(profile.columns):
        return profile
    columns = {
        name: (
            replace(
                col, min=None, max=None, mean=None, std=None, quantiles={}, histogram=None,
                top=[], top_complete=False, redacted=True,
            )
            if name in hidden
            else col
        )
        for name, col in profile.columns.items()
    }  # fmt: skip
    return Profile(row_count=profile.row_count, columns=columns)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value_expr(name: str, t: pa.DataType) -> str:
    import pyarrow.types as pt

    col = _q(name)
    if pt.is_floating(t):  # NaN counts as missing, as in pandas
        return f"nullif({col}, 'NaN'::DOUBLE)"
    if pt.is_decimal(t):
        return f"{col}::DOUBLE"
    return col


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _profile(
    con: duckdb.DuckDBPyConnection, schema: pa.Schema, table: pa.Table | None = None
) -> Profile:
    """Three passes: scalar statistics, all histograms at once, then top values per category.

    Quantiles of an in-memory ``table`` come from numpy's selection (no sort); of a Parquet
    file from DuckDB's ``quantile_cont``: in the first pass while every numeric column's values
    fit in :data:`QUANTILE_ONE_PASS_BYTES`, else one column per query so that at most one
    column's values are held at once. Both interpolate linearly.
    """
    kinds = {f.name: column_kind(f.type) for f in schema}
    exprs = {f.name: _value_expr(f.name, f.type) for f in schema}
    (total,) = con.execute("SELECT count(*) FROM falaj_profiled").fetchone() or (0,)
    exact = total <= EXACT_DISTINCT_ROWS
    numeric = sum(1 for k in kinds.values() if k == "numeric")
    one_pass = table is None and total * numeric * 8 <= QUANTILE_ONE_PASS_BYTES
    qs = ", ".join(str(q) for q in QUANTILES)
    select = ["count(*)"]
    for f in schema:
        e, kind = exprs[f.name], kinds[f.name]
        select.append(f"count({e})")
        if kind in ("numeric", "temporal"):
            select.append(f"count(DISTINCT {e})" if exact else f"approx_count_distinct({e})")
        if kind == "numeric":
            select += [
                f"min({e})::DOUBLE",
                f"max({e})::DOUBLE",
                f"avg({e})::DOUBLE",
                f"stddev_samp({e})::DOUBLE",
                f"quantile_cont({e}, [{qs}])" if one_pass else "NULL",
            ]
        elif kind == "temporal":
            select += [f"min({e})::VARCHAR", f"max({e})::VARCHAR"]
    row = con.execute(f"SELECT {', '.join(select)} FROM falaj_profiled").fetchone()
    assert row is not None
    total = int(row[0])
    pos = 1
    stats: dict[str, dict[str, Any]] = {}
    for f in schema:
        kind = kinds[f.name]
        item: dict[str, Any] = {"non_null": int(row[pos]), "distinct_count": 0}
        pos += 1
        if kind in ("numeric", "temporal"):
            item["distinct_count"], item["distinct_exact"] = int(row[pos]), exact
            pos += 1
        if kind == "numeric":
            lo, hi, mean, std, quants = row[pos : pos + 5]
            pos += 5
            item.update(min=_finite(lo), max=_finite(hi), mean=_finite(mean), std=_finite(std))
            if table is not None:
                quants = _quantiles(table.column(f.name))
            elif not one_pass:  # one column at a time, to hold one column's values at most
                quants = _file_quantiles(con, exprs[f.name])
            if quants is not None:
                item["quantiles"] = {
                    str(q): float(v) for q, v in zip(QUANTILES, quants, strict=True)
                }
        elif kind == "temporal":
            item.update(min=row[pos], max=row[pos + 1])
            pos += 2
        elif kind in ("categorical", "boolean"):
            top, distinct = _top(con, exprs[f.name])
            item.update(top=top, distinct_count=distinct, top_complete=distinct <= MAX_CATEGORIES)
        stats[f.name] = item
    histograms = _histograms(con, {n: (exprs[n], s) for n, s in stats.items()})
    columns: dict[str, ColumnProfile] = {}
    for f in schema:
        item = stats[f.name]
        non_null = item.pop("non_null")
        columns[f.name] = ColumnProfile(
            name=f.name,
            kind=kinds[f.name],
            type=str(f.type),
            count=total,
            null_count=total - non_null,
            null_rate=(total - non_null) / total if total else 0.0,
            histogram=histograms.get(f.name),
            **item,
        )
    return Profile(row_count=total, columns=columns)


def _file_quantiles(con: duckdb.DuckDBPyConnection, expr: str) -> list[float] | None:
    """Exact quantiles of one column (DuckDB's ``quantile_cont``: linear interpolation)."""
    qs = ", ".join(str(q) for q in QUANTILES)
    row = con.execute(f"SELECT quantile_cont({expr}, [{qs}]) FROM falaj_profiled").fetchone()
    return None if row is None or row[0] is None else list(row[0])


def _quantiles(column: pa.ChunkedArray) -> list[float] | None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.drop_null(column)
    if not pa.types.is_floating(values.type) and not pa.types.is_integer(values.type):
        values = values.cast(pa.float64())
    array = values.to_numpy()
    if array.dtype.kind == "f":
        array = array[~np.isnan(array)]
    if not len(array):
        return None
    with np.errstate(invalid="ignore"):  # interpolating next to +/-inf gives NaN, not a warning
        return [float(v) for v in np.quantile(array, QUANTILES)]


def _histograms(
    con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, Histogram]:
    """Equal-width histograms of every numeric column, in one scan."""
    bins = HISTOGRAM_BINS
    plans: list[tuple[str, float, float, float]] = []
    select: list[str] = []
    out: dict[str, Histogram] = {}
    for name, (expr, item) in columns.items():
        lo, hi = item.get("min"), item.get("max")
        if not isinstance(lo, float) or not isinstance(hi, float):
            continue
        if lo == hi:
            out[name] = Histogram(edges=[lo, hi], counts=[int(item["non_null"])])
            continue
        width = (hi - lo) / bins
        plans.append((name, lo, hi, width))
        select.append(
            f"histogram(least(greatest(floor(({expr} - {lo!r}::DOUBLE) / {width!r}::DOUBLE)"
            f"::BIGINT, 0), {bins - 1})) FILTER (WHERE {expr} IS NOT NULL)"
        )
    if not plans:
        return out
    row = con.execute(f"SELECT {', '.join(select)} FROM falaj_profiled").fetchone()
    assert row is not None
    for (name, lo, hi, width), counted in zip(plans, row, strict=True):
        counts = [0] * bins
        for b, c in (counted or {}).items():
            counts[int(b)] = int(c)
        out[name] = Histogram(edges=[lo + i * width for i in range(bins)] + [hi], counts=counts)
    return out


def _top(con: duckdb.DuckDBPyConnection, expr: str) -> tuple[list[tuple[Any, int]], int]:
    """The most frequent values (all of them up to MAX_CATEGORIES) and the distinct count."""
    rows = con.execute(
        f"SELECT falaj_v, falaj_n, count(*) OVER () FROM (SELECT {expr} AS falaj_v, "
        f"count(*) AS falaj_n FROM falaj_profiled WHERE {expr} IS NOT NULL GROUP BY 1) "
        f"ORDER BY falaj_n DESC, falaj_v LIMIT {MAX_CATEGORIES + 1}"
    ).fetchall()
    distinct = int(rows[0][2]) if rows else 0
    limit = MAX_CATEGORIES if distinct <= MAX_CATEGORIES else TOP_CATEGORIES
    return [(v, int(n)) for v, n, _ in rows[:limit]], distinct
