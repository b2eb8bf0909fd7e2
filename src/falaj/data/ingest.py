"""One pass over a source: write Parquet incrementally and hash the content as it streams by.

Only one batch is held in memory at a time (plus what the Parquet writer buffers for a row
group), so a source larger than memory can be registered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from falaj.data.content_hash import ContentHasher
from falaj.data.errors import SourceFormatError
from falaj.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "INGEST_PREFIX",
    "PARQUET_MEDIA_TYPE",
    "IngestResult",
    "clean_stale_scratch",
    "ingest",
    "schema_of",
]

PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"
#: registering writes its Parquet into a scratch folder ``<tmp>/falaj-ingest-*``
INGEST_PREFIX = "falaj-ingest-"
ROW_GROUP_ROWS = 128 * 1024


@dataclass(frozen=True)
class IngestResult:
    path: Path
    content_digest: str
    schema: list[dict[str, str]]
    row_count: int


def schema_of(schema: pa.Schema) -> list[dict[str, str]]:
    """A JSON-able schema: one ``{"name", "type"}`` per column, in order."""
    return [{"name": f.name, "type": str(f.type)} for f in schema]


def ingest(batches: Iterator[pa.RecordBatch], dest: Path) -> IngestResult:
    """Write ``batches`` to a Parquet file at ``dest`` while hashing their content."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    hasher: ContentHasher | None = None
    schema: pa.Schema | None = None
    try:
        for batch in batches:
            if schema is None:
                schema = batch.schema
                _check_names(schema)
                hasher = ContentHasher(schema)
                writer = pq.ParquetWriter(
                    dest, schema, compression="zstd", version="2.6", write_statistics=True
                )
            elif not batch.schema.equals(schema, check_metadata=False):
                try:
                    batch = batch.cast(schema)
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                    raise SourceFormatError(
                        f"a later chunk of the source has schema {batch.schema} where the first "
                        f"had {schema}: {exc}"
                    ) from None
            assert hasher is not None and writer is not None
            hasher.update(batch)
            writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()
    if schema is None or hasher is None:
        raise SourceFormatError("the source yielded no data and no schema")
    return IngestResult(
        path=dest,
        content_digest=hasher.hexdigest(),
        schema=schema_of(schema),
        row_count=hasher.rows,
    )


def clean_stale_scratch(now: float, stale_after_s: float, folder: Path | None = None) -> list[str]:
    """Remove ``falaj-ingest-*`` scratch folders that a killed register left behind.

    Only folders untouched for ``stale_after_s`` seconds go (a live register keeps writing into
    its own); ``folder`` defaults to the system temporary folder.
    """
    import tempfile

    from falaj.artifacts.housekeeping import remove_stale_entries

    base = Path(tempfile.gettempdir()) if folder is None else folder
    return remove_stale_entries(base, f"{INGEST_PREFIX}*", now - stale_after_s)


def _check_names(schema: pa.Schema) -> None:
    names = list(schema.names)
    if not names:
        raise InvalidInputError("the data has no columns: expected at least one")
    empty = [n for n in names if not n or not n.strip()]
    if empty:
        raise InvalidInputError(f"column names {empty!r} are invalid: expected non-empty names")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(f"column names {dupes!r} appear more than once")
