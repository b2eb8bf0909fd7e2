"""CSV empty fields are missing values in every column type, as pandas reads them (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from falaj.data.sources import CsvSource
from falaj.workspace import Workspace

CSV = (
    "id,city,segment,income\n"
    "1,Muscat,retail,100.5\n"
    "2,,retail,\n"
    "3,Sohar,,90.25\n"
    "4,NA,corporate,null\n"
    "5,Nizwa,retail,70.0\n"
)


def test_empty_text_fields_are_null_not_the_empty_category(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    table = pa.Table.from_batches(list(CsvSource(str(path)).iter_batches()))
    assert table.column("city").to_pylist() == ["Muscat", None, "Sohar", None, "Nizwa"]
    assert table.column("segment").to_pylist() == ["retail", "retail", None, "corporate", "retail"]
    assert table.column("income").to_pylist() == [100.5, None, 90.25, None, 70.0]


def test_a_csv_file_and_its_pandas_frame_register_as_the_same_version(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    from_file = ws.datasets.register("people", CsvSource(str(path)))
    from_frame = ws.datasets.register("people", pd.read_csv(path))
    assert from_frame.id == from_file.id == "people@1"
    assert from_frame.content_digest == from_file.content_digest
    stats = ws.datasets.profile("people@1").columns
    assert stats["city"].null_count == 2
    assert stats["segment"].null_count == 1
    assert "" not in dict(stats["city"].top)
