"""Registration never stays silent about a 0-row source or a column changing type (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from falaj.data.errors import DataWarning, EmptyDatasetError
from falaj.data.sources import CsvSource
from falaj.workspace import Workspace


def test_header_only_csv_registers_with_a_warning(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,amount\n")
    with pytest.warns(DataWarning, match=r"'loans': the source has no rows"):
        version = ws.datasets.register("loans", CsvSource(str(path)))
    assert version.row_count == 0


def test_require_rows_refuses_a_header_only_csv_and_stores_nothing(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("id,amount\n")
    with pytest.raises(EmptyDatasetError, match="no rows"):
        ws.datasets.register("loans", CsvSource(str(path)), require_rows=True)
    assert ws.datasets.latest_versions() == []
    assert ws.artifacts.list() == []


def test_one_bad_value_turning_a_number_column_to_text_is_named(
    ws: Workspace, tmp_path: Path
) -> None:
    first = tmp_path / "v1.csv"
    first.write_text("id,age\n1,30\n2,41\n")
    second = tmp_path / "v2.csv"
    second.write_text("id,age\n1,30\n2,twelve\n3,52\n4,n/a\n")
    ws.datasets.register("people", CsvSource(str(first)))
    with pytest.warns(DataWarning) as caught:
        version = ws.datasets.register("people", CsvSource(str(second)))
    assert version.id == "people@2"
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "column 'age' changed type from int64 (people@1) to string" in messages[0]
    assert "values that are not int64: 'twelve'" in messages[0]
    assert "'52'" not in messages[0] and "'30'" not in messages[0]


def test_an_unchanged_schema_registers_without_warnings(ws: Workspace, tmp_path: Path) -> None:
    import warnings

    for i, rows in enumerate(["1,30\n", "1,30\n2,31\n"]):
        path = tmp_path / f"v{i}.csv"
        path.write_text("id,age\n" + rows)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataWarning)
            ws.datasets.register("people", CsvSource(str(path)))
