"""Small SQL helpers shared by the offline join and materialization (DuckDB dialect)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falaj.features.definitions import FeatureView

__all__ = ["ViewInput", "connect", "q", "source_select"]


def q(name: str) -> str:
    """A quoted DuckDB identifier (names are validated, but quote anyway)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ViewInput:
    """A feature view resolved for reading: its join keys and the Parquet file of its source."""

    view: FeatureView
    version: int
    join_keys: tuple[str, ...]
    parquet: Path
    source_version: str

    @property
    def name(self) -> str:
        return self.view.name


def connect(
    *, memory_limit: str | None = None, threads: int | None = None, spill_dir: str | None = None
) -> Any:
    """A fresh in-memory DuckDB connection set to UTC (naive timestamps are read as UTC) that
    spills to ``spill_dir`` when a join or sort outgrows its memory limit."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if spill_dir:
        con.execute(f"SET temp_directory = '{spill_dir.replace(chr(39), chr(39) * 2)}'")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def source_select(src: ViewInput, features: Sequence[str], where: str = "") -> str:
    """``SELECT keys, __ts, [__cr,] features FROM read_parquet(...)`` with null keys and
    timestamps dropped (they can match nothing)."""
    view = src.view
    cols = [q(k) for k in src.join_keys]
    cols.append(f"CAST({q(view.timestamp)} AS TIMESTAMPTZ) AS __ts")
    if view.created_timestamp is not None:
        cols.append(f"CAST({q(view.created_timestamp)} AS TIMESTAMPTZ) AS __cr")
    cols += [q(f) for f in features]
    not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in (*src.join_keys, view.timestamp))
    path = str(src.parquet).replace("'", "''")
    sql = f"SELECT {', '.join(cols)} FROM read_parquet('{path}') WHERE {not_null}"
    if where:
        sql = f"SELECT * FROM ({sql}) WHERE {where}"
    return sql
