from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from falaj.data.errors import SourceFormatError
from falaj.data.ingest import ingest
from falaj.errors import InvalidInputError


def test_batches_are_written_incrementally_and_hashed(tmp_path: Path) -> None:
    batches = [pa.record_batch({"x": list(range(i * 10, i * 10 + 10))}) for i in range(5)]
    result = ingest(iter(batches), tmp_path / "out.parquet")
    assert result.row_count == 50 and result.schema == [{"name": "x", "type": "int64"}]
    written = pq.ParquetFile(tmp_path / "out.parquet")
    assert written.metadata.num_rows == 50
    assert written.read().column("x").to_pylist() == list(range(50))


def test_a_later_batch_that_widens_losslessly_is_cast_to_the_first_schema(tmp_path: Path) -> None:
    first = pa.record_batch({"x": pa.array([1, 2], pa.int64())})
    later = pa.record_batch({"x": pa.array([3, 4], pa.int32())})
    result = ingest(iter([first, later]), tmp_path / "out.parquet")
    assert result.row_count == 4


def test_a_later_batch_with_an_incompatible_type_is_refused(tmp_path: Path) -> None:
    first = pa.record_batch({"x": pa.array([1, 2], pa.int64())})
    later = pa.record_batch({"x": pa.array(["a", "b"])})
    with pytest.raises(SourceFormatError, match="later chunk"):
        ingest(iter([first, later]), tmp_path / "out.parquet")


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    batch = pa.RecordBatch.from_arrays([pa.array([1]), pa.array([2])], names=["a", "a"])
    with pytest.raises(InvalidInputError, match=r"\['a'\] appear more than once"):
        ingest(iter([batch]), tmp_path / "out.parquet")
