"""The identity of a dataset version: a hash of its values, not of any file's bytes.

The same rows give the same hash whatever the batch or row-group sizes, compression, Parquet
writer version, or how the table was chunked in memory. Types are normalized first (so a column
read back as int32 or as int64, as ``string`` or ``large_string``, dictionary-encoded or not,
timestamps in us or ns, hashes the same); then each column is hashed as a stream of canonical
bytes: validity (one byte per row), fixed-width values with nulls zeroed, or for strings and
binaries the value lengths and the concatenated bytes. The final hash covers the normalized
schema, the row count and every column's hashes. Row order is part of the data.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FORMAT", "ContentHasher", "normalize_type"]

FORMAT = "falaj-content-v1"


def normalize_type(t: pa.DataType) -> pa.DataType:
    """The canonical type a column is hashed as (widened, decoded, one unit per temporal kind)."""
    import pyarrow as pa
    import pyarrow.types as pt

    if pt.is_dictionary(t):
        return normalize_type(t.value_type)
    if pt.is_boolean(t) or pt.is_null(t):
        return t
    if pt.is_signed_integer(t):
        return pa.int64()
    if pt.is_unsigned_integer(t):
        return pa.uint64() if t == pa.uint64() else pa.int64()
    if pt.is_floating(t):
        return pa.float64()
    if pt.is_string(t) or pt.is_large_string(t) or getattr(pt, "is_string_view", _no)(t):
        return pa.large_string()
    if pt.is_binary(t) or pt.is_large_binary(t) or pt.is_fixed_size_binary(t):
        return pa.large_binary()
    if pt.is_timestamp(t):
        return pa.timestamp("ns", tz=t.tz)
    if pt.is_date(t):
        return pa.date32()
    if pt.is_time(t):
        return pa.time64("ns")
    if pt.is_duration(t):
        return pa.duration("ns")
    return t


def _no(_: Any) -> bool:
    return False


class _ColumnHash:
    def __init__(self) -> None:
        self.validity = hashlib.sha256()
        self.lengths = hashlib.sha256()
        self.values = hashlib.sha256()

    def digest(self) -> list[str]:
        return [h.hexdigest() for h in (self.validity, self.lengths, self.values)]


class ContentHasher:
    """Feed record batches in order with :meth:`update`; :meth:`hexdigest` is the identity."""

    def __init__(self, schema: pa.Schema) -> None:
        self._names = list(schema.names)
        self._types = [normalize_type(f.type) for f in schema]
        self._columns = [_ColumnHash() for _ in self._names]
        self._rows = 0

    @property
    def rows(self) -> int:
        return self._rows

    def canonical_schema(self) -> list[list[str]]:
        return [[n, str(t)] for n, t in zip(self._names, self._types, strict=True)]

    def update(self, batch: pa.RecordBatch) -> None:
        for index, name in enumerate(self._names):
            column = batch.column(batch.schema.get_field_index(name))
            self._hash_array(self._columns[index], column, self._types[index])
        self._rows += batch.num_rows

    def hexdigest(self) -> str:
        payload = {
            "format": FORMAT,
            "schema": self.canonical_schema(),
            "rows": self._rows,
            "columns": [c.digest() for c in self._columns],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    @staticmethod
    def _hash_array(state: _ColumnHash, array: pa.Array, target: pa.DataType) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.types as pt

        if pt.is_dictionary(array.type):
            array = array.dictionary_decode()
        if array.type != target:
            array = _cast(array, target)
        state.validity.update(np.asarray(array.is_valid(), dtype=np.uint8).tobytes())
        if pt.is_null(target):
            return
        if pt.is_boolean(target):
            filled = pc.fill_null(array, False)
            state.values.update(np.asarray(filled, dtype=np.uint8).tobytes())
        elif pt.is_large_string(target) or pt.is_large_binary(target):
            binary = array.cast(pa.large_binary()) if pt.is_large_string(target) else array
            binary = pc.fill_null(binary, b"")
            if isinstance(binary, pa.ChunkedArray):
                binary = binary.combine_chunks()
            buffers = binary.buffers()
            offsets = np.frombuffer(buffers[1], dtype=np.int64)[
                binary.offset : binary.offset + len(binary) + 1
            ]
            state.lengths.update(np.diff(offsets).astype(np.int64).tobytes())
            if len(offsets) and buffers[2] is not None:
                state.values.update(memoryview(buffers[2])[offsets[0] : offsets[-1]])
        elif pt.is_floating(target):
            values = np.asarray(pc.fill_null(array, 0.0), dtype=np.float64)
            values = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
            state.values.update(values.tobytes())
        elif pt.is_integer(target):
            values = np.asarray(pc.fill_null(array, 0), dtype=target.to_pandas_dtype())
            state.values.update(values.tobytes())
        elif pt.is_temporal(target):
            width = pa.int32() if pt.is_date32(target) else pa.int64()
            ints = pc.fill_null(array.cast(width), 0)
            state.values.update(np.asarray(ints).tobytes())
        else:  # decimals and nested types: their canonical JSON text, one value at a time
            for value in array.to_pylist():
                data = json.dumps(value, sort_keys=True, default=str).encode()
                state.lengths.update(len(data).to_bytes(8, "little"))
                state.values.update(data)


def _cast(array: pa.Array, target: pa.DataType) -> pa.Array:
    import pyarrow as pa

    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # e.g. a timestamp beyond the ns range: keep its own unit (the schema records it).
        return array
