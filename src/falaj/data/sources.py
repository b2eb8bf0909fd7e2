"""Sources: where a dataset's rows come from, read as a stream of Arrow record batches.

- :class:`CsvSource` and :class:`ParquetSource` read any fsspec URI (a local path, ``file://``,
  ``s3://``, ``memory://``...), block by block / row group by row group.
- :class:`SqlSource` runs a query against any SQLAlchemy URL (PostgreSQL, DuckDB through
  duckdb-engine, SQLite, any warehouse with a dialect) with a server-side cursor, ``chunk_size``
  rows at a time.
- :class:`DataFrameSource` wraps an in-memory pandas DataFrame (its index is not stored).

Every source yields at least one batch (an empty one carries the schema of an empty source) and
describes itself without credentials (:meth:`Source.describe`).
"""

from __future__ import annotations

import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from falaj.data.errors import SourceFormatError, SourceUnavailableError
from falaj.data.masking import mask_sql_url, mask_uri, scrub, secrets_of
from falaj.errors import FalajError, InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CSV_NULL_VALUES",
    "DEFAULT_CHUNK_ROWS",
    "CsvSource",
    "DataFrameSource",
    "ParquetSource",
    "Source",
    "SqlSource",
    "source_from_uri",
]

DEFAULT_CHUNK_ROWS = 65_536
#: What reads as a missing value in a CSV field: pandas' ``read_csv`` defaults (empty included).
CSV_NULL_VALUES = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
_CSV_BLOCK_BYTES = 16 * 1024 * 1024


@runtime_checkable
class Source(Protocol):
    """Anything that streams Arrow record batches and describes itself without secrets."""

    @property
    def kind(self) -> str: ...

    def iter_batches(self) -> Iterator[pa.RecordBatch]: ...

    def describe(self) -> dict[str, Any]: ...

    def lineage_id(self) -> str | None: ...


@contextmanager
def _open_uri(uri: str, storage_options: dict[str, Any]) -> Iterator[Any]:
    import fsspec

    masked = mask_uri(uri)
    secrets = secrets_of(uri)
    try:
        with fsspec.open(uri, "rb", compression="infer", **storage_options) as fh:
            yield fh
    except FalajError:
        raise
    except FileNotFoundError as exc:
        raise NotFoundError(f"source {masked} does not exist") from exc
    except (ImportError, ValueError) as exc:
        raise SourceUnavailableError(
            f"source {masked} cannot be opened: {scrub(str(exc), secrets)}"
        ) from exc
    except OSError as exc:
        raise SourceUnavailableError(
            f"source {masked} cannot be read: {scrub(str(exc), secrets)}"
        ) from exc
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] not in _STORAGE_CLIENTS:
            raise
        # e.g. botocore's EndpointConnectionError or NoCredentialsError (not OSErrors)
        raise SourceUnavailableError(
            f"source {masked} cannot be read: {type(exc).__name__}: {scrub(str(exc), secrets)}"
        ) from exc


#: Packages whose exceptions are storage-backend failures (their errors are not all OSErrors).
_STORAGE_CLIENTS = frozenset(
    {"botocore", "aiobotocore", "s3fs", "aiohttp", "gcsfs", "google", "adlfs", "azure", "fsspec"}
)


@dataclass(frozen=True)
class CsvSource:
    """A CSV file at any fsspec URI, parsed by pyarrow in blocks (``.gz``/``.zst`` inferred).

    Column types are inferred from the first block; pin them with ``column_types`` (Arrow type
    names such as ``"int64"``, ``"string"``, ``"timestamp[s]"``) when a column changes later.
    The file is decoded as ``encoding`` (default UTF-8; e.g. ``"latin-1"``, ``"cp1252"``): text
    that does not decode is refused with a hint, never stored as a binary column.

    Missing values are read as pandas reads them, in every column type text included: an empty
    field and the markers in :data:`CSV_NULL_VALUES` (``NA``, ``null``, ``NaN``...) are null, so
    a CSV file and ``pandas.read_csv`` of it register as the same version.
    """

    uri: str
    delimiter: str = ","
    column_types: dict[str, str] = field(default_factory=dict)
    storage_options: dict[str, Any] = field(default_factory=dict)
    block_size: int = _CSV_BLOCK_BYTES
    encoding: str = "utf-8"
    kind: str = field(default="csv", init=False)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "uri": mask_uri(self.uri)}

    def lineage_id(self) -> str | None:
        return f"csv:{mask_uri(self.uri)}"[:300]

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            types = {name: pa.type_for_alias(t) for name, t in self.column_types.items()}
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"column_types {self.column_types!r} is invalid: {exc} "
                "(expected Arrow type names such as 'int64', 'double', 'string')"
            ) from None
        masked = mask_uri(self.uri)
        encoding = _check_encoding(self.encoding)
        with _open_uri(self.uri, self.storage_options) as fh:
            try:
                reader = pacsv.open_csv(
                    fh,
                    read_options=pacsv.ReadOptions(block_size=self.block_size, encoding=encoding),
                    parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                    convert_options=pacsv.ConvertOptions(
                        column_types=types,
                        null_values=list(CSV_NULL_VALUES),
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=True,
                    ),
                )
                unknown = sorted(set(types) - set(reader.schema.names))
                if unknown:
                    raise InvalidInputError(
                        f"column_types names column(s) {unknown} that CSV source {masked} does "
                        f"not have (columns: {reader.schema.names})"
                    )
                _refuse_undecoded(reader.schema, types, masked, encoding)
                yielded = False
                for batch in reader:
                    yielded = True
                    yield batch
                if not yielded:
                    yield pa.RecordBatch.from_pylist([], schema=reader.schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                hint = (
                    " (pin the column's type with column_types={'<column>': 'string'} if it "
                    "changes after the first block)"
                    if "conversion error" in str(exc)
                    else ""
                )
                raise SourceFormatError(f"CSV source {masked} does not parse: {exc}{hint}") from exc
            except UnicodeDecodeError as exc:  # a header that is not valid in ``encoding``
                raise SourceFormatError(
                    f"CSV source {masked} is not {encoding} text (byte {exc.start} of a block: "
                    f"{exc.reason}); pass the file's encoding, e.g. encoding='latin-1' "
                    "(CLI: --encoding latin-1)"
                ) from exc


def _check_encoding(encoding: object) -> str:
    import codecs

    if not isinstance(encoding, str) or not encoding:
        raise InvalidInputError(f"encoding {encoding!r} is invalid: expected e.g. 'utf-8'")
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InvalidInputError(
            f"encoding {encoding[:40]!r} is unknown: expected a Python codec name such as "
            "'utf-8', 'latin-1' or 'cp1252'"
        ) from None


def _refuse_undecoded(
    schema: pa.Schema, pinned: dict[str, pa.DataType], masked: str, encoding: str
) -> None:
    """Arrow reads text that is not valid UTF-8 as binary: say so instead of storing bytes."""
    import pyarrow as pa

    binary = [
        f.name
        for f in schema
        if f.name not in pinned and (pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type))
    ]
    if binary:
        raise SourceFormatError(
            f"CSV source {masked}: column(s) {binary[:10]} hold text that is not valid "
            f"{encoding}; pass the file's encoding, e.g. encoding='latin-1' (CLI: --encoding "
            "latin-1), or pin the column as binary with column_types"
        )


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file at any fsspec URI, read row group by row group."""

    uri: str
    columns: list[str] | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    batch_rows: int = DEFAULT_CHUNK_ROWS
    kind: str = field(default="parquet", init=False)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "uri": mask_uri(self.uri), "columns": self.columns}

    def lineage_id(self) -> str | None:
        return f"parquet:{mask_uri(self.uri)}"[:300]

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        masked = mask_uri(self.uri)
        with _open_uri(self.uri, self.storage_options) as fh:
            try:
                parquet = pq.ParquetFile(fh)
                schema = parquet.schema_arrow
                if self.columns is not None:
                    missing = [c for c in self.columns if c not in schema.names]
                    if missing:
                        raise InvalidInputError(
                            f"columns {missing} are not in {masked} (it has {schema.names})"
                        )
                    schema = pa.schema([schema.field(c) for c in self.columns])
                yielded = False
                for batch in parquet.iter_batches(batch_size=self.batch_rows, columns=self.columns):
                    yielded = True
                    yield batch
                if not yielded:
                    yield pa.RecordBatch.from_pylist([], schema=schema)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise SourceFormatError(f"Parquet source {masked} is not readable: {exc}") from exc


@dataclass(frozen=True)
class SqlSource:
    """The rows of ``query`` on the database at ``url`` (any SQLAlchemy URL), streamed.

    Column types come from the values (Python's DB-API types); NUMERIC/DECIMAL values become
    float64, UUIDs strings, JSON values JSON text. A column that is NULL in every row of the first
    chunk takes its type from the first chunk where it is not.
    """

    query: str
    url: str
    chunk_size: int = DEFAULT_CHUNK_ROWS
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = field(default="sql", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.query, str) or not self.query.strip():
            raise InvalidInputError(f"SqlSource query {self.query!r} is invalid: expected SQL text")
        if self.chunk_size <= 0:
            raise InvalidInputError(
                f"SqlSource chunk_size {self.chunk_size} is invalid: expected a positive integer"
            )

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": mask_sql_url(self.url), "query": self.query}

    def lineage_id(self) -> str | None:
        query_hash = hashlib.sha256(self.query.encode()).hexdigest()[:16]
        return f"sql:{mask_sql_url(self.url)}#{query_hash}"[:300]

    def __repr__(self) -> str:  # never show the password, even in a traceback's locals
        return f"SqlSource(query={self.query!r}, url={mask_sql_url(self.url)!r})"

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        import sqlalchemy as sa
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

        masked = mask_sql_url(self.url)
        secrets = secrets_of(self.url)
        try:
            url = sa.engine.make_url(self.url)
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            engine = sa.create_engine(url)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise SourceUnavailableError(
                f"SQL source {masked} cannot be used: {scrub(str(exc), secrets)} "
                "(expected a SQLAlchemy URL whose dialect is installed)"
            ) from None
        try:
            with engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, yield_per=self.chunk_size
                ).execute(sa.text(self.query), self.params)
                names = list(result.keys())
                yield from _batches_from_rows(names, result.partitions(self.chunk_size), masked)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SourceUnavailableError(
                f"SQL source {masked} failed: {scrub(detail, secrets)}"
            ) from None
        finally:
            engine.dispose()


def _python_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _needs_conversion(values: tuple[Any, ...]) -> bool:
    first = next((v for v in values if v is not None), None)
    return isinstance(first, decimal.Decimal | uuid.UUID | dict | list | memoryview)


def _batches_from_rows(
    names: list[str], partitions: Iterator[Any], masked: str
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    types: list[pa.DataType | None] = [None] * len(names)
    pending: list[list[tuple[Any, ...]]] = []
    yielded = False
    for rows in partitions:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        columns = [
            tuple(_python_value(v) for v in col) if _needs_conversion(col) else col
            for col in columns
        ]
        pending.append(columns)
        for i, col in enumerate(columns):
            if types[i] is None and any(v is not None for v in col):
                types[i] = _infer_type(names[i], col, masked)
        if all(t is not None for t in types):
            for chunk in pending:
                yield _to_batch(names, chunk, types, masked)
                yielded = True
            pending.clear()
    for chunk in pending:  # columns NULL everywhere keep the null type
        yield _to_batch(names, chunk, types, masked)
        yielded = True
    if not yielded:
        yield pa.RecordBatch.from_arrays(
            [pa.array([], type=t or pa.null()) for t in types], names=names
        )


def _infer_type(name: str, values: tuple[Any, ...], masked: str) -> pa.DataType:
    import pyarrow as pa

    try:
        inferred: pa.DataType = pa.array(values).type
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise SourceFormatError(
            f"SQL source {masked}: column {name!r} mixes value types ({exc}); cast it in the query"
        ) from None
    return inferred


def _to_batch(
    names: list[str],
    columns: list[tuple[Any, ...]],
    types: list[pa.DataType | None],
    masked: str,
) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for name, col, typ in zip(names, columns, types, strict=True):
        try:
            arrays.append(pa.array(col, type=typ or pa.null()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise SourceFormatError(
                f"SQL source {masked}: column {name!r} changed type after the first chunk "
                f"(expected {typ}): {exc}; cast it in the query"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, names=names)


@dataclass(frozen=True)
class DataFrameSource:
    """An in-memory pandas DataFrame (its index is not stored: ``reset_index()`` to keep it)."""

    frame: pd.DataFrame
    batch_rows: int = DEFAULT_CHUNK_ROWS
    kind: str = field(default="dataframe", init=False)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": len(self.frame.columns)}

    def lineage_id(self) -> str | None:
        return None

    def to_table(self) -> pa.Table:
        import pyarrow as pa

        frame = self.frame
        bad = [c for c in frame.columns if not isinstance(c, str)]
        if bad:
            raise InvalidInputError(
                f"column names {bad!r} are invalid: expected strings (rename the columns)"
            )
        if frame.columns.duplicated().any():
            dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise InvalidInputError(f"column names {dupes!r} appear more than once")
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            for column in frame.columns:
                try:
                    pa.array(frame[column], from_pandas=True)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as col_exc:
                    raise SourceFormatError(
                        f"column {column!r} cannot be stored: {col_exc} "
                        "(expected one type per column; convert it with astype)"
                    ) from None
            raise SourceFormatError(f"the DataFrame cannot be stored: {exc}") from None

    def iter_batches(self) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        table = self.to_table()
        batches = table.to_batches(max_chunksize=self.batch_rows)
        if not batches:
            yield pa.RecordBatch.from_pylist([], schema=table.schema)
            return
        yield from batches


def source_from_uri(uri: str, **options: Any) -> CsvSource | ParquetSource:
    """A CSV or Parquet source chosen by the file name (``.csv``, ``.tsv``, ``.parquet``...)."""
    path = uri.split("?", 1)[0].lower()
    for suffix in (".gz", ".bz2", ".zst", ".xz"):
        path = path.removesuffix(suffix)
    if path.endswith((".parquet", ".pq")):
        return ParquetSource(uri, **options)
    if path.endswith(".tsv"):
        return CsvSource(uri, delimiter="\t", **options)
    if path.endswith((".csv", ".txt")):
        return CsvSource(uri, **options)
    raise InvalidInputError(
        f"source {mask_uri(uri)!r} has an unknown format: expected a name ending in .csv, .tsv "
        "or .parquet (or build CsvSource/ParquetSource explicitly)"
    )
