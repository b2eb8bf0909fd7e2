"""Validating a registered version chunk by chunk, with the report of the whole.

A version's Parquet file is read in chunks of :data:`CHUNK_ROWS` rows; pandera validates each
chunk (rows keep their position in the version as their index), so memory holds one chunk and
the failures, never the whole dataset. What needs every row at once is computed beside the
chunks: uniqueness by a DuckDB scan of the file (first occurrence kept, as pandera reports it),
the row count from the file's metadata, freshness from the newest value over all chunks. The
report equals that of :func:`falaj.data.validate.run_suite` on the whole version loaded as a
DataFrame; a test pins it. Chunks are converted to pandas with the dtypes the whole table would
get (an integer column with a null anywhere is float in every chunk).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from falaj.data.expectations import Suite
from falaj.data.validate import (
    MAX_EXAMPLES,
    ValidationReport,
    _build,
    _check_id,
    _Def,
    _report,
    add_examples,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["CHUNK_ROWS", "run_suite_file"]

CHUNK_ROWS = 250_000


@dataclass
class _Scan:
    """What the chunks taught us so far."""

    failures: list[Any] = field(default_factory=list)
    seen_schema_failures: set[tuple[str, str, str]] = field(default_factory=set)
    examples: dict[str, list[Any]] = field(default_factory=dict)
    newest: Any = None
    freshness_column_present: bool = True


def run_suite_file(
    path: str | Path,
    suite: Suite,
    *,
    now: dt.datetime | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[pd.DataFrame, ValidationReport | None], None] | None = None,
) -> tuple[ValidationReport, Callable[[], Iterator[pd.DataFrame]]]:
    """Validate the Parquet file at ``path``; returns the report and a chunk re-reader.

    The re-reader yields the same chunks again (with their positions as index), for a caller
    that splits rows after the report is known (quarantine).
    """
    import pandas as pd
    import pyarrow.parquet as pq
    from pandera.errors import SchemaErrors

    now = now or dt.datetime.now(dt.UTC)
    source = Path(path)
    total = pq.ParquetFile(source).metadata.num_rows
    schema, defs = _build(suite, now, whole=False)
    by_id = {d.check: d for d in defs}
    fixes = _dtype_fixes(source)

    def chunks() -> Iterator[pd.DataFrame]:
        yield from _chunks(source, chunk_rows, fixes)

    unique = _unique_failures(source, suite)
    scan = _Scan()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
        for chunk in chunks():
            failures = None
            try:
                schema.validate(chunk, lazy=True)
            except SchemaErrors as exc:
                failures = exc.failure_cases
            lo = int(chunk.index[0]) if len(chunk) else 0
            hi = lo + len(chunk)
            in_chunk = unique[(unique["index"] >= lo) & (unique["index"] < hi)]
            _absorb(scan, chunk, failures, in_chunk, by_id)
            _track_freshness(scan, suite, chunk)
    if unique.empty and not scan.failures:
        failures_all = None
    else:
        failures_all = pd.concat([*scan.failures, unique], ignore_index=True)
    failures_all = _dataset_checks(suite, now, total, scan, failures_all)

    def examples_for(d: _Def, positions: list[int]) -> list[Any]:
        if d.check == "row_count":
            return [total]
        if d.check == "freshness" and suite.freshness is not None:
            return _freshness_example(suite, scan, now)
        return scan.examples.get(d.check, []) if positions else []

    return _report(suite, defs, failures_all, total, examples_for), chunks


def _chunks(source: Path, chunk_rows: int, fixes: dict[str, str]) -> Iterator[pd.DataFrame]:
    import pandas as pd
    import pyarrow.parquet as pq

    offset = 0
    parquet = pq.ParquetFile(source)
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        for column, dtype in fixes.items():
            frame[column] = frame[column].astype(dtype)
        frame.index = pd.RangeIndex(offset, offset + len(frame))
        offset += len(frame)
        yield frame
    if offset == 0:  # no rows: one empty chunk with the columns, as the whole table gives
        yield parquet.schema_arrow.empty_table().to_pandas()


def _dtype_fixes(source: Path) -> dict[str, str]:
    """Columns whose pandas dtype depends on nulls anywhere in the file (int, bool)."""
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    parquet = pq.ParquetFile(source)
    arrow = parquet.schema_arrow
    nulls = _null_counts(source, arrow)
    fixes: dict[str, str] = {}
    for f in arrow:
        if not nulls.get(f.name):
            continue
        if pt.is_integer(f.type):
            fixes[f.name] = "float64"
        elif pt.is_boolean(f.type):
            fixes[f.name] = "object"
    return fixes


def _null_counts(source: Path, arrow: pa.Schema) -> dict[str, int]:
    import pyarrow.types as pt

    from falaj.data.profile import bounded_duckdb

    wanted = [f.name for f in arrow if pt.is_integer(f.type) or pt.is_boolean(f.type)]
    if not wanted:
        return {}
    with bounded_duckdb() as con:
        literal = "'" + str(source).replace("'", "''") + "'"
        select = ", ".join(f"count(*) - count({_q(n)})" for n in wanted)
        row = con.execute(f"SELECT {select} FROM read_parquet({literal})").fetchone()
    assert row is not None
    return {name: int(n) for name, n in zip(wanted, row, strict=True)}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unique_failures(source: Path, suite: Suite) -> pd.DataFrame:
    """Failure rows of every ``unique`` column over the whole file (first occurrence kept)."""
    import pandas as pd
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    from falaj.data.profile import bounded_duckdb

    columns = ["schema_context", "column", "check", "check_number", "failure_case", "index"]
    arrow = pq.ParquetFile(source).schema_arrow
    specs = [s for s in suite.columns if s.unique and s.name in arrow.names]
    if not specs:
        return pd.DataFrame(columns=columns)
    parts: list[pd.DataFrame] = []
    literal = "'" + str(source).replace("'", "''") + "'"
    with bounded_duckdb() as con:
        con.execute(
            f"CREATE VIEW falaj_rows AS SELECT * FROM read_parquet({literal}, "
            "file_row_number = true)"
        )
        for spec in specs:
            col = _q(spec.name)
            kind = arrow.field(spec.name).type
            value = f"nullif({col}, 'NaN'::DOUBLE)" if pt.is_floating(kind) else col
            rows = con.execute(
                f"SELECT file_row_number FROM (SELECT file_row_number, row_number() OVER "
                f"(PARTITION BY {value} ORDER BY file_row_number) AS falaj_n FROM falaj_rows "
                f"WHERE {value} IS NOT NULL) WHERE falaj_n > 1 ORDER BY file_row_number"
            ).fetchall()
            if not rows:
                continue
            positions = [int(r[0]) for r in rows]
            values = _values_at(source, spec.name, positions)
            parts.append(
                pd.DataFrame(
                    {
                        "schema_context": "Column",
                        "column": spec.name,
                        "check": "field_uniqueness",
                        "check_number": None,
                        "failure_case": values,
                        "index": positions,
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _values_at(source: Path, column: str, positions: list[int]) -> list[Any]:
    """The pandas values of ``column`` at ``positions`` (read one row group at a time)."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    out: list[Any] = []
    start = 0
    wanted = iter(positions)
    pos = next(wanted, None)
    for group in range(parquet.num_row_groups):
        rows = parquet.metadata.row_group(group).num_rows
        if pos is not None and pos < start + rows:
            series = parquet.read_row_group(group, columns=[column]).to_pandas()[column]
            while pos is not None and pos < start + rows:
                out.append(series.iloc[pos - start])
                pos = next(wanted, None)
        start += rows
    return out


def _absorb(
    scan: _Scan,
    chunk: pd.DataFrame,
    failures: pd.DataFrame | None,
    unique: pd.DataFrame,
    by_id: dict[str, _Def],
) -> None:
    """Keep this chunk's failure rows (schema-level ones once) and its example values."""
    import math

    import pandas as pd

    frames = [f for f in (failures, unique) if f is not None and not f.empty]
    if not frames:
        return
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    keep: list[int] = []
    positions: dict[str, list[int]] = {}
    for i, (_, row) in enumerate(rows.iterrows()):
        index = row["index"]
        if index is None or (isinstance(index, float) and math.isnan(index)):
            key = (str(row["check"]), str(row["column"]), str(row["failure_case"]))
            if key in scan.seen_schema_failures:
                continue  # the same schema-level failure, reported by every chunk
            scan.seen_schema_failures.add(key)
        else:
            positions.setdefault(_check_id(row), []).append(int(index))
        keep.append(i)
    if failures is not None and not failures.empty:
        scan.failures.append(rows.iloc[[k for k in keep if k < len(failures)]])
    base = int(chunk.index[0]) if len(chunk) else 0
    for check_id, found in positions.items():
        d = by_id.get(check_id)
        if d is None:
            continue
        seen = scan.examples.setdefault(check_id, [])
        if len(seen) < MAX_EXAMPLES:
            add_examples(seen, chunk, d, sorted(p - base for p in found))


def _track_freshness(scan: _Scan, suite: Suite, chunk: pd.DataFrame) -> None:
    import pandas as pd

    if suite.freshness is None:
        return
    column = suite.freshness.column
    if column not in chunk.columns:
        scan.freshness_column_present = False
        return
    newest = pd.to_datetime(chunk[column], errors="coerce", utc=True).max()
    if pd.notna(newest) and (scan.newest is None or newest > scan.newest):
        scan.newest = newest


def _dataset_checks(
    suite: Suite, now: dt.datetime, total: int, scan: _Scan, failures: pd.DataFrame | None
) -> pd.DataFrame | None:
    """Append the whole-dataset checks (row count, freshness) as pandera would report them."""
    import pandas as pd

    failed: list[str] = []
    lo, hi = suite.row_count_min, suite.row_count_max
    if (lo is not None or hi is not None) and not (
        (lo is None or total >= lo) and (hi is None or total <= hi)
    ):
        failed.append("row_count")
    if suite.freshness is not None:
        fresh = suite.freshness
        ok = (
            scan.freshness_column_present
            and scan.newest is not None
            and pd.Timestamp(now) - scan.newest <= fresh.max_age
        )
        if not ok:
            failed.append("freshness")
    if not failed:
        return failures
    extra = pd.DataFrame(
        {
            "schema_context": "DataFrameSchema",
            "column": None,
            "check": failed,
            "check_number": None,
            "failure_case": False,
            "index": None,
        }
    )
    return extra if failures is None else pd.concat([failures, extra], ignore_index=True)


def _freshness_example(suite: Suite, scan: _Scan, now: dt.datetime) -> list[Any]:
    import pandas as pd

    assert suite.freshness is not None
    column = suite.freshness.column
    if not scan.freshness_column_present:
        return [f"column {column} is missing"]
    if scan.newest is None:
        return [f"column {column} has no date or time values"]
    return [f"newest {scan.newest} is {pd.Timestamp(now) - scan.newest} old"]
