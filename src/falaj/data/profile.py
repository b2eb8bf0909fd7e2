"""Column profiles: what a dataset version looks like, computed by DuckDB over Arrow or Parquet.

Per column: null rate, distinct count; for numbers min/max/mean/std, quantiles and an equal-width
histogram (bin edges + counts, reused by anomaly detection and monitoring as the drift
reference); for categories and booleans the most frequent values with their frequencies (every
value when there are at most :data:`MAX_CATEGORIES`); for dates and times min and max. DuckDB
scans columnar data in parallel, so 1M rows x 30 columns profile in seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
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


def profile_table(table: pa.Table) -> Profile:
    """Profile an in-memory Arrow table (zero-copy into DuckDB)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("falaj_profiled", table)
        return _profile(con, table.schema)
    finally:
        con.close()


def profile_parquet(path: str | Path) -> Profile:
    """Profile a Parquet file without loading it into memory."""
    import duckdb
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    con = duckdb.connect()
    try:
        literal = "'" + str(Path(path)).replace("'", "''") + "'"
        con.execute(f"CREATE VIEW falaj_profiled AS SELECT * FROM read_parquet({literal})")
        return _profile(con, schema)
    finally:
        con.close()


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


def _profile(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> Profile:
    kinds = {f.name: column_kind(f.type) for f in schema}
    exprs = {f.name: _value_expr(f.name, f.type) for f in schema}
    select = ["count(*)"]
    for i, f in enumerate(schema):
        e, kind = exprs[f.name], kinds[f.name]
        select += [f"count({e}) AS nn{i}"]
        select += [f"count(DISTINCT {e}) AS d{i}" if kind != "other" else f"0 AS d{i}"]
        if kind == "numeric":
            qs = ", ".join(str(q) for q in QUANTILES)
            select += [
                f"min({e})::DOUBLE",
                f"max({e})::DOUBLE",
                f"avg({e})::DOUBLE",
                f"stddev_samp({e})::DOUBLE",
                f"quantile_cont({e}, [{qs}])",
            ]
        elif kind == "temporal":
            select += [f"min({e})::VARCHAR", f"max({e})::VARCHAR"]
    row = con.execute(f"SELECT {', '.join(select)} FROM falaj_profiled").fetchone()
    assert row is not None
    total = int(row[0])
    pos = 1
    columns: dict[str, ColumnProfile] = {}
    for f in schema:
        kind = kinds[f.name]
        non_null, distinct = int(row[pos]), int(row[pos + 1])
        pos += 2
        stats: dict[str, Any] = {}
        if kind == "numeric":
            lo, hi, mean, std, quants = row[pos : pos + 5]
            pos += 5
            stats = {
                "min": _finite(lo),
                "max": _finite(hi),
                "mean": _finite(mean),
                "std": _finite(std),
                "quantiles": (
                    {str(q): float(v) for q, v in zip(QUANTILES, quants, strict=True)}
                    if quants is not None
                    else {}
                ),
            }
            if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
                stats["histogram"] = _histogram(con, exprs[f.name], float(lo), float(hi))
        elif kind == "temporal":
            stats = {"min": row[pos], "max": row[pos + 1]}
            pos += 2
        elif kind in ("categorical", "boolean"):
            complete = distinct <= MAX_CATEGORIES
            stats = {
                "top": _top(con, exprs[f.name], None if complete else TOP_CATEGORIES),
                "top_complete": complete,
            }
        columns[f.name] = ColumnProfile(
            name=f.name,
            kind=kind,
            type=str(f.type),
            count=total,
            null_count=total - non_null,
            null_rate=(total - non_null) / total if total else 0.0,
            distinct_count=distinct,
            **stats,
        )
    return Profile(row_count=total, columns=columns)


def _histogram(con: duckdb.DuckDBPyConnection, expr: str, lo: float, hi: float) -> Histogram:
    if lo == hi:
        (count,) = con.execute(f"SELECT count({expr}) FROM falaj_profiled").fetchone() or (0,)
        return Histogram(edges=[lo, hi], counts=[int(count)])
    bins = HISTOGRAM_BINS
    width = (hi - lo) / bins
    rows = con.execute(
        f"SELECT least(greatest(floor(({expr} - {lo!r}::DOUBLE) / {width!r}::DOUBLE)::BIGINT, "
        f"0), {bins - 1}), count(*) FROM falaj_profiled WHERE {expr} IS NOT NULL GROUP BY 1"
    ).fetchall()
    counts = [0] * bins
    for b, c in rows:
        counts[int(b)] = int(c)
    edges = [lo + i * width for i in range(bins)] + [hi]
    return Histogram(edges=edges, counts=counts)


def _top(con: duckdb.DuckDBPyConnection, expr: str, limit: int | None) -> list[tuple[Any, int]]:
    sql = (
        f"SELECT {expr}, count(*) FROM falaj_profiled WHERE {expr} IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [(v, int(n)) for v, n in con.execute(sql).fetchall()]
