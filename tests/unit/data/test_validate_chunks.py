"""Validating a version chunk by chunk gives the report of the whole version at once."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from falaj.data.expectations import load_suite
from falaj.data.validate import run_suite
from falaj.data.validate_chunks import run_suite_file
from falaj.workspace import Workspace

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _frame(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": rng.normal(100, 40, rows),
            "purpose": rng.choice(["car", "home", "boat"], rows),
            "email": [f"user{i % 45}@x.om" if i % 13 else f"broken{i}" for i in range(rows)],
            "count": rng.integers(0, 9, rows).astype("float64"),
            "opened": pd.date_range("2026-05-01", periods=rows, freq="h", tz="UTC"),
            "closed": pd.date_range("2026-05-01", periods=rows, freq="h", tz="UTC")
            + pd.to_timedelta(rng.integers(-3, 10, rows), unit="h"),
            "flag": [True, False, None] * (rows // 3),
            "extra": rng.random(rows),
        }
    )
    frame.loc[[4, 40], "count"] = np.nan  # an int column with nulls: float in every chunk
    frame.loc[[2, 33, 51], "amount"] = np.nan
    frame.loc[[5, 6], "id"] = [1, 1]  # duplicates across chunks
    return frame


SUITE: dict[str, Any] = {
    "suite": "orders",
    "strict": True,
    "row_count": {"min": 100},
    "freshness": {"column": "opened", "max_age": "2d"},
    "columns": {
        "id": {"type": "int", "unique": True},
        "amount": {"type": "float", "nullable": False, "min": 0, "max": 180},
        "purpose": {"type": "str", "in": ["car", "home"]},
        "email": {"type": "str", "regex": "^[^@]+@[^@]+$", "unique": True},
        "count": {"type": "int", "max": 7},
        "flag": {"type": "bool"},
        "missing_col": {"type": "str"},
    },
    "checks": [{"name": "closes_after_opening", "expr": "closed >= opened"}],
}


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, row_group_size=16)
    return path


@pytest.mark.parametrize("chunk_rows", [1, 7, 25, 1000])
@pytest.mark.parametrize(
    "suite",
    [
        SUITE,
        {**SUITE, "strict": False, "row_count": {"max": 1000}, "freshness": None},
        {"suite": "tiny", "columns": {"amount": {"min": -1000}}},
    ],
)
def test_chunked_report_equals_the_whole_frame_report(
    tmp_path: Path, chunk_rows: int, suite: dict[str, Any]
) -> None:
    suite = {k: v for k, v in suite.items() if v is not None}
    path = _parquet(_frame(), tmp_path / "data.parquet")
    expectations = load_suite(suite)
    whole = run_suite(pq.read_table(path).to_pandas(), expectations, now=NOW)
    chunked, _ = run_suite_file(path, expectations, now=NOW, chunk_rows=chunk_rows)
    assert chunked.as_dict() == whole.as_dict()
    assert chunked.row_reasons == whole.row_reasons


def test_chunked_report_of_an_empty_version(tmp_path: Path) -> None:
    path = _parquet(_frame().iloc[0:0], tmp_path / "empty.parquet")
    expectations = load_suite(SUITE)
    whole = run_suite(pq.read_table(path).to_pandas(), expectations, now=NOW)
    chunked, _ = run_suite_file(path, expectations, now=NOW, chunk_rows=7)
    assert chunked.as_dict() == whole.as_dict()


def test_quarantine_of_a_version_splits_chunk_by_chunk(ws: Workspace) -> None:
    frame = _frame().drop(columns=["opened", "closed"])
    version = ws.datasets.register("orders", frame)
    suite = {
        "suite": "orders",
        "columns": {"amount": {"min": 0, "nullable": False}, "id": {"unique": True}},
    }
    result = ws.datasets.validate(version.id, suite, policy="quarantine")
    in_memory = run_suite(ws.datasets.load(version.id), load_suite(suite))
    assert result.report.row_reasons == in_memory.row_reasons
    assert result.quarantined is not None and result.valid is not None
    assert result.quarantined["_falaj_row"].tolist() == sorted(in_memory.row_reasons)
    stored = ws.datasets.load(result.quarantine_version_id or "")
    assert stored["_falaj_row"].tolist() == sorted(in_memory.row_reasons)
    assert len(result.valid) + len(stored) == len(frame)


def test_validating_a_version_holds_a_chunk_not_the_version(ws: Workspace) -> None:
    rows = 600_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 10, rows),
            "purpose": rng.choice(["car", "home"], rows),
            "note": [f"note {i % 1000}" for i in range(rows)],
        }
    )
    version = ws.datasets.register("big", frame)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    del frame
    suite = {"suite": "big", "columns": {"amount": {"min": 0}, "purpose": {"in": ["car", "home"]}}}
    tracemalloc.start()
    try:
        result = ws.datasets.validate(version.id, suite, policy="fail")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.status == "passed" and result.report.row_count == rows
    assert peak < frame_bytes / 2, (peak, frame_bytes)
