from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from falaj.data.errors import SourceFormatError, SourceUnavailableError
from falaj.data.masking import mask_sql_url, mask_uri
from falaj.data.sources import CsvSource, ParquetSource, SqlSource, source_from_uri
from falaj.errors import InvalidInputError, NotFoundError
from falaj.lineage import Node
from falaj.workspace import Workspace


def _rows(source: CsvSource | ParquetSource | SqlSource) -> pd.DataFrame:
    import pyarrow as pa

    return pa.Table.from_batches(list(source.iter_batches())).to_pandas()


def test_csv_source_reads_a_local_file_in_several_blocks(tmp_path: Path) -> None:
    path = tmp_path / "loans.csv"
    lines = ["id,amount,city"] + [f"{i},{i * 10},c{i % 3}" for i in range(2000)]
    path.write_text("\n".join(lines) + "\n")
    source = CsvSource(str(path), block_size=4096)
    batches = list(source.iter_batches())
    assert len(batches) > 1
    frame = _rows(source)
    assert len(frame) == 2000
    assert frame["amount"].sum() == sum(i * 10 for i in range(2000))
    assert frame["city"].iloc[4] == "c1"


def test_csv_source_reads_gzip_through_a_file_uri(tmp_path: Path) -> None:
    path = tmp_path / "small.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,x\n2,y\n"))
    frame = _rows(source_from_uri(path.as_uri()))
    assert frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_csv_source_reads_an_fsspec_memory_uri() -> None:
    import fsspec

    with fsspec.open("memory://falaj-test/data.csv", "wb") as fh:
        fh.write(b"x,y\n1,2\n3,4\n")
    frame = _rows(CsvSource("memory://falaj-test/data.csv"))
    assert frame.to_dict("list") == {"x": [1, 3], "y": [2, 4]}


def test_csv_source_with_only_a_header_yields_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b\n")
    batches = list(CsvSource(str(path)).iter_batches())
    assert batches[0].num_rows == 0 and batches[0].schema.names == ["a", "b"]


def test_csv_cell_that_breaks_the_inferred_type_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("n\n" + "\n".join(["1"] * 3000) + "\nnot-a-number\n")
    with pytest.raises(SourceFormatError, match="column_types"):
        _rows(CsvSource(str(path), block_size=1024))
    frame = _rows(CsvSource(str(path), block_size=1024, column_types={"n": "string"}))
    assert frame["n"].iloc[-1] == "not-a-number"


def test_column_types_naming_a_column_the_csv_lacks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match=r"names column\(s\) \['zip'\] .*\['a', 'b'\]"):
        _rows(CsvSource(str(path), column_types={"zip": "string"}))


def test_csv_structure_error_carries_no_column_type_hint(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(SourceFormatError) as info:
        _rows(CsvSource(str(path)))
    assert "Expected 2 columns, got 1" in str(info.value)
    assert "column_types" not in str(info.value)


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        _rows(CsvSource(str(tmp_path / "nope.csv")))


def test_parquet_source_streams_row_groups_and_selects_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame({"a": range(1000), "b": ["x"] * 1000}).to_parquet(path, row_group_size=100)
    source = ParquetSource(str(path), columns=["a"], batch_rows=100)
    batches = list(source.iter_batches())
    assert len(batches) == 10 and batches[0].schema.names == ["a"]
    assert _rows(source)["a"].sum() == sum(range(1000))


def test_parquet_source_rejects_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(InvalidInputError, match=r"\['zz'\]"):
        _rows(ParquetSource(str(path), columns=["zz"]))


def test_unknown_file_format_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"\.csv, \.tsv or \.parquet"):
        source_from_uri("s3://bucket/data.xlsx")


def test_sql_source_streams_a_duckdb_query_in_chunks(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT range AS id, range * 1.5 AS x FROM range(1000)")
    con.close()
    source = SqlSource("SELECT id, x FROM t ORDER BY id", f"duckdb:///{db}", chunk_size=128)
    batches = list(source.iter_batches())
    assert len(batches) == 8
    frame = _rows(source)
    assert frame["id"].tolist() == list(range(1000))
    assert frame["x"].iloc[10] == 15.0


def test_sql_source_types_a_column_null_in_the_first_chunk_from_later_chunks(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER, note TEXT)"))
        conn.execute(
            sa.text("INSERT INTO t VALUES (:i, :n)"),
            [{"i": i, "n": None if i < 5 else f"n{i}"} for i in range(10)],
        )
    engine.dispose()
    source = SqlSource("SELECT id, note FROM t ORDER BY id", url, chunk_size=3)
    batches = list(source.iter_batches())
    assert {str(b.schema.field("note").type) for b in batches} == {"string"}
    assert _rows(source)["note"].tolist()[4:6] == [None, "n5"]


def test_sql_source_error_is_translated_without_the_password() -> None:
    source = SqlSource("SELECT 1", "postgresql://bob:s3cr3t-pw@127.0.0.1:1/nowhere")
    with pytest.raises(SourceUnavailableError) as info:
        list(source.iter_batches())
    assert "s3cr3t-pw" not in str(info.value)
    assert "***" in str(info.value)
    assert "s3cr3t-pw" not in repr(source)


def test_registering_a_sql_source_records_query_and_lineage(ws: Workspace, tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    version = ws.datasets.register("wh", SqlSource("SELECT a FROM t", f"duckdb:///{db}"))
    assert version.source == {"kind": "sql", "url": f"duckdb:///{db}", "query": "SELECT a FROM t"}
    assert ws.datasets.load(version.id)["a"].tolist() == [1]
    sources = [e.source for e in ws.lineage.upstream(Node("dataset_version", version.id))]
    assert [n.kind for n in sources] == ["source"]
    assert sources[0].id.startswith(f"sql:duckdb:///{db}#")


def test_masking_hides_passwords_userinfo_and_secret_query_values() -> None:
    assert mask_sql_url("postgresql://u:pw123@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert "abc" not in mask_sql_url("snowflake://u@acct/db?password=abc")
    assert mask_uri("s3://key:secret@bucket/a.csv") == "s3://bucket/a.csv"
    assert "sig123" not in mask_uri("https://h/a.csv?X-Amz-Signature=sig123&x=1")
    assert mask_uri("/local/path.csv") == "/local/path.csv"
