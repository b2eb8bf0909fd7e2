"""Anomaly detection over a registered version's Parquet file, out of core.

The batch's profile is the one stored with its version; the per-column statistics that compare
it with the reference (values outside the reference range, counts over the reference histogram's
bins, category counts) are computed by DuckDB scans under a memory limit, one column at a time,
so a batch of any size is compared within bounded memory. The findings are those of
:func:`falaj.data.anomalies.detect` on the same rows loaded as a DataFrame.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from falaj.data.anomalies import (
    AnomalyReport,
    NumericStats,
    Thresholds,
    _key,
    _thresholds,
    compare,
)
from falaj.data.profile import ColumnProfile, Profile, bounded_duckdb

if TYPE_CHECKING:
    import duckdb

__all__ = ["detect_file"]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _numeric(con: duckdb.DuckDBPyConnection, ref: ColumnProfile) -> NumericStats | None:
    if ref.min is None or ref.max is None:
        return None
    v = f"nullif(TRY_CAST({_q(ref.name)} AS DOUBLE), 'NaN'::DOUBLE)"
    select = [
        f"count({v})",
        f"count(*) FILTER (WHERE {v} < {ref.min!r}::DOUBLE)",
        f"count(*) FILTER (WHERE {v} > {ref.max!r}::DOUBLE)",
        f"min({v})",
        f"max({v})",
        f"avg({v})",
        f"quantile_cont({v}, 0.5)",
    ]
    edges = ref.histogram.edges if ref.histogram is not None else None
    if edges is not None and len(edges) > 2:
        # np.histogram's bins: [e_i, e_i+1), the last one closed; values clipped to the edges
        inner = f"least(greatest({v}, {edges[0]!r}::DOUBLE), {edges[-1]!r}::DOUBLE)"
        cases = " ".join(
            f"WHEN {inner} < {edge!r}::DOUBLE THEN {i}" for i, edge in enumerate(edges[1:-1])
        )
        select.append(
            f"histogram(CASE {cases} ELSE {len(edges) - 2} END) FILTER (WHERE {v} IS NOT NULL)"
        )
    row = con.execute(f"SELECT {', '.join(select)} FROM falaj_batch").fetchone()
    assert row is not None
    count = int(row[0])
    if not count:
        return None
    histogram: list[int] | None = None
    if edges is not None:
        if len(edges) > 2:
            histogram = [0] * (len(edges) - 1)
            for b, c in (row[7] or {}).items():
                histogram[int(b)] = int(c)
        else:
            histogram = [count]
    return NumericStats(
        count=count,
        below=int(row[1]),
        above=int(row[2]),
        histogram=histogram,
        minimum=float(row[3]),
        maximum=float(row[4]),
        mean=float(row[5]),
        median=float(row[6]),
    )


def _categories(con: duckdb.DuckDBPyConnection, name: str) -> dict[Any, int]:
    col = _q(name)
    rows = con.execute(
        f"SELECT {col}, count(*) AS n, min(file_row_number) AS first FROM falaj_batch "
        f"WHERE {col} IS NOT NULL GROUP BY {col} ORDER BY n DESC, first"
    ).fetchall()
    return {_key(value): int(n) for value, n, _ in rows}


def detect_file(
    reference: Profile,
    current: Profile,
    path: str | Path,
    *,
    thresholds: Thresholds | dict[str, float] | None = None,
    reference_id: str | None = None,
) -> AnomalyReport:
    """Compare the batch stored at ``path`` (profiled as ``current``) with ``reference``."""
    t = _thresholds(thresholds)
    with bounded_duckdb() as con:
        literal = "'" + str(Path(path)).replace("'", "''") + "'"
        con.execute(
            "CREATE VIEW falaj_batch AS SELECT * FROM "
            f"read_parquet({literal}, file_row_number = true)"
        )
        return compare(
            reference,
            current,
            lambda ref: _numeric(con, ref),
            lambda name: _categories(con, name),
            t,
            reference_id,
        )
