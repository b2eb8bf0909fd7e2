from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falaj.data.content_hash import ContentHasher
from falaj.data.sources import ParquetSource
from falaj.workspace import Workspace


def _frame(rows: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 20, rows),
            "count": rng.integers(0, 50, rows),
            "city": rng.choice(["Muscat", "Sohar", "Nizwa", None], rows),
            "flag": rng.choice([True, False], rows),
            "when": pd.date_range("2024-01-01", periods=rows, freq="min"),
        }
    )


def _digest(table: pa.Table, chunk: int) -> str:
    hasher = ContentHasher(table.schema)
    for batch in table.to_batches(max_chunksize=chunk):
        hasher.update(batch)
    return hasher.hexdigest()


@pytest.mark.slow
def test_hash_does_not_depend_on_batch_boundaries() -> None:
    table = pa.Table.from_pandas(_frame(), preserve_index=False)
    assert _digest(table, 7) == _digest(table, 1000) == _digest(table, 10_000)


def test_hash_changes_when_one_value_changes() -> None:
    frame = _frame()
    changed = frame.copy()
    changed.loc[1234, "amount"] += 0.001
    a = pa.Table.from_pandas(frame, preserve_index=False)
    b = pa.Table.from_pandas(changed, preserve_index=False)
    assert _digest(a, 1000) != _digest(b, 1000)


def test_hash_changes_when_a_value_becomes_null() -> None:
    frame = pd.DataFrame({"x": ["a", "", "c"]})
    nulled = pd.DataFrame({"x": ["a", None, "c"]})
    a = pa.Table.from_pandas(frame, preserve_index=False)
    b = pa.Table.from_pandas(nulled, preserve_index=False)
    assert _digest(a, 10) != _digest(b, 10)


def test_integer_width_and_dictionary_encoding_do_not_change_the_hash() -> None:
    plain = pa.table({"n": pa.array([1, 2, 3], pa.int64()), "s": pa.array(["a", "b", "a"])})
    other = pa.table(
        {
            "n": pa.array([1, 2, 3], pa.int32()),
            "s": pa.array(["a", "b", "a"], pa.large_string()).dictionary_encode(),
        }
    )
    assert _digest(plain, 2) == _digest(other, 3)


def test_column_names_are_part_of_the_hash() -> None:
    a = pa.table({"x": [1, 2]})
    b = pa.table({"y": [1, 2]})
    assert _digest(a, 2) != _digest(b, 2)


@pytest.mark.parametrize(
    ("row_group_size", "compression", "version"),
    [
        (100, "snappy", "1.0"),
        (4096, "zstd", "2.6"),
        (1_000_000, "none", "2.4"),
        (333, "gzip", "2.6"),
    ],
)
def test_same_rows_written_differently_register_as_the_same_version(
    ws: Workspace, tmp_path: Path, row_group_size: int, compression: str, version: str
) -> None:
    frame = _frame()
    first = ws.datasets.register("events", frame)
    path = tmp_path / f"events-{row_group_size}.parquet"
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False),
        path,
        row_group_size=row_group_size,
        compression=compression,
        version=version,
    )
    again = ws.datasets.register("events", ParquetSource(str(path), batch_rows=257))
    assert again.id == first.id == "events@1"
    assert again.content_digest == first.content_digest
    assert [v.version for v in ws.datasets.versions("events")] == [1]


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
            st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
            st.one_of(st.none(), st.text(max_size=8)),
            st.one_of(st.none(), st.booleans()),
        ),
        min_size=1,
        max_size=60,
    ),
    first=st.integers(1, 61),
    second=st.integers(1, 61),
)
@pytest.mark.slow
def test_any_data_hashes_the_same_under_any_chunking(
    values: list[tuple[object, ...]], first: int, second: int
) -> None:
    table = pa.table(
        {
            "i": pa.array([v[0] for v in values], pa.int64()),
            "f": pa.array([v[1] for v in values], pa.float64()),
            "s": pa.array([v[2] for v in values], pa.string()),
            "b": pa.array([v[3] for v in values], pa.bool_()),
        }
    )
    assert _digest(table, first) == _digest(table, second)
    assert _digest(table, first) == _digest(table.cast(_wide(table.schema)), second)


def _wide(schema: pa.Schema) -> pa.Schema:
    swap = {pa.string(): pa.large_string(), pa.int64(): pa.int32()}
    return pa.schema([pa.field(f.name, swap.get(f.type, f.type)) for f in schema])
