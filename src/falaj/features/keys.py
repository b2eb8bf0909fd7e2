"""One spelling of an entity key, shared by materialization (in SQL) and lookups (in Python).

A single join key is its value as text (``42``, ``"abc"``); several are joined with ``\\x1f``.
Booleans are ``true``/``false`` in both worlds; integral numbers have no decimal point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from falaj.errors import InvalidInputError
from falaj.features.sql import q

__all__ = ["SEP", "encode_key", "key_sql"]

SEP = "\x1f"


def _text(value: Any, column: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    # numpy scalars and the like
    item = getattr(value, "item", None)
    if callable(item):
        return _text(item(), column)
    raise InvalidInputError(
        f"entity key {column}={value!r} is invalid: expected text, an integer or a boolean"
    )


def encode_key(values: Sequence[Any], columns: Sequence[str]) -> str:
    return SEP.join(_text(v, c) for v, c in zip(values, columns, strict=True))


def key_sql(join_keys: Sequence[str]) -> str:
    """The DuckDB expression giving :func:`encode_key`'s text for a source row."""
    parts = []
    for k in join_keys:
        col = q(k)
        parts.append(
            f"CASE WHEN typeof({col}) IN ('FLOAT', 'DOUBLE') AND {col} = floor({col}) "
            f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END"
        )
    if len(parts) == 1:
        return parts[0]
    return "concat_ws(chr(31), " + ", ".join(parts) + ")"
