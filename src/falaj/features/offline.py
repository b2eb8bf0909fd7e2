"""Point-in-time correct training data: DuckDB ASOF joins over the sources' Parquet.

For each entity row (join keys + timestamp ``t``) and each feature view, the answer is the
source row with the greatest ``(event time, created time)`` among the rows with
``event time <= t`` and, when the view has a created timestamp, ``created time <= t`` (a row
written after ``t`` did not exist at ``t``: late data never leaks into the past); the values are
null when that row is older than ``t - ttl``, or when there is none. Every entity row comes back,
in its original order, with nulls where nothing matched.

How: each view's source is read keyed by *visibility time* ``max(event, created)``: without a
created timestamp that is the event time and the Parquet file is joined as it is (a view); with
one, a window keeps, at each visibility time, the best row visible so far (the running max of
``(event, created)``) in a temporary table, so one ASOF join on visibility time gives the exact
answer. The entity frame is joined in chunks of ``chunk_rows`` rows (only its keys and
timestamp go to DuckDB); rows come back in any order and are placed by their row number (a
scatter, no sort). So a 10M-row frame needs memory for the result, not ten copies of it;
DuckDB spills to a scratch folder when a join outgrows its memory limit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from falaj.errors import InvalidInputError
from falaj.features.sql import ViewInput, connect, q, source_select

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Requested", "historical"]

#: (view input, features requested of it, output column name per feature)
Requested = tuple[ViewInput, list[str], list[str]]

_DEFAULT_CHUNK = 1_000_000


def _prepare(con: Any, index: int, src: ViewInput, features: Sequence[str]) -> None:
    keys = ", ".join(q(k) for k in src.join_keys)
    feats = ", ".join(q(f) for f in features)
    base = source_select(src, features)
    if src.view.created_timestamp is None:
        # one row per (keys, event time): which of two same-time rows is kept is unspecified
        sql = (
            f"SELECT DISTINCT ON ({keys}, __ts) {keys}, __ts AS __vis, __ts, {feats} FROM ({base})"
        )
    else:
        packed = ", ".join(f"{q('f_' + f)} := {q(f)}" for f in features)
        best = (
            f"max(struct_pack(__ts := __ts, __cr := coalesce(__cr, __ts), {packed})) OVER ("
            f"PARTITION BY {keys} ORDER BY __vis, __ts, __cr "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        )
        unpack = ", ".join(f"__best.{q('f_' + f)} AS {q(f)}" for f in features)
        sql = (
            f"SELECT {keys}, __vis, __best.__ts AS __ts, {unpack} FROM ("
            f"SELECT {keys}, __vis, __ts, __cr, {best} AS __best FROM ("
            f"SELECT *, greatest(__ts, coalesce(__cr, __ts)) AS __vis FROM ({base}))) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys}, __vis "
            "ORDER BY __ts DESC, __cr DESC) = 1"
        )
    con.execute(f"CREATE TEMP TABLE v{index} AS {sql}")


def _join_sql(requested: Sequence[Requested], ts_col: str) -> str:
    selects = ["e.__row"]
    joins = []
    for i, (src, features, names) in enumerate(requested):
        ttl = src.view.ttl_seconds
        fresh = "TRUE" if ttl is None else f"v{i}.__ts >= e.__ets - to_seconds({ttl})"
        for feature, name in zip(features, names, strict=True):
            selects.append(f"CASE WHEN {fresh} THEN v{i}.{q(feature)} END AS {q(name)}")
        on = " AND ".join(f"e.{q(k)} = v{i}.{q(k)}" for k in src.join_keys)
        joins.append(f"ASOF LEFT JOIN v{i} ON {on} AND e.__ets >= v{i}.__vis")
    del ts_col
    # no ORDER BY: sorting every column costs more than putting the rows back by __row after
    return f"SELECT {', '.join(selects)} FROM chunk e {' '.join(joins)}"


def historical(
    entity_df: pd.DataFrame,
    timestamp: str,
    requested: Sequence[Requested],
    *,
    chunk_rows: int = _DEFAULT_CHUNK,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """``entity_df`` with the requested features appended (see the module docstring)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    keys = sorted({k for src, _, _ in requested for k in src.join_keys})
    spill = tempfile.TemporaryDirectory(prefix="falaj-duckdb-")
    con = connect(memory_limit=memory_limit, spill_dir=spill.name)
    try:
        for i, (src, features, _) in enumerate(requested):
            _prepare(con, i, src, features)
        sql = _join_sql(requested, timestamp)
        parts: list[pa.Table] = []
        for start in range(0, max(len(entity_df), 1), chunk_rows):
            piece = entity_df.iloc[start : start + chunk_rows]
            frame = pd.DataFrame({k: piece[k].to_numpy() for k in keys})
            stamps = pd.to_datetime(piece[timestamp], utc=True)
            frame["__ets"] = stamps.dt.tz_convert(None).to_numpy()  # naive UTC, no objects
            frame["__row"] = range(start, start + len(piece))
            con.register("chunk_in", pa.Table.from_pandas(frame, preserve_index=False))
            con.execute(
                "CREATE OR REPLACE TEMP VIEW chunk AS SELECT * REPLACE "
                "(CAST(__ets AS TIMESTAMPTZ) AS __ets) FROM chunk_in"
            )
            try:
                parts.append(con.sql(sql).to_arrow_table())
            except Exception as exc:
                raise _join_error(exc, keys) from exc
            finally:
                con.unregister("chunk_in")
    finally:
        con.close()
        spill.cleanup()
    result = pa.concat_tables(parts)
    # the join returns rows in any order: __row says where each goes (a scatter, no sort)
    rows = result.column("__row").to_numpy()
    out = entity_df.copy(deep=False)
    for name in (n for _, _, ns in requested for n in ns):
        values = result.column(name).to_pandas().to_numpy()
        placed = np.empty_like(values)
        placed[rows] = values
        out[name] = placed
    return out


def _join_error(exc: Exception, keys: list[str]) -> Exception:
    import duckdb

    if isinstance(exc, duckdb.BinderException | duckdb.ConversionException):
        return InvalidInputError(
            f"entity_df join keys {keys} cannot be matched with the feature sources: {exc}"
        )
    return exc
