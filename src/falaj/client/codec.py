"""JSON on the wire for Falaj's frozen dataclasses, both ways.

The server renders service results with :func:`to_jsonable` (dataclasses to objects, datetimes to
ISO 8601, tuples and sets to lists); the client rebuilds the very same dataclasses with
:func:`from_jsonable`, guided by their type hints, so a remote workspace returns what an embedded
one returns (``ModelVersion``, ``Run``, ``DatasetVersion``...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from collections.abc import Mapping
from functools import lru_cache
from pathlib import PurePath
from typing import Any, TypeVar

from falaj.errors import InvalidInputError

__all__ = ["from_jsonable", "to_jsonable"]

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


@lru_cache(maxsize=256)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(cls: type[T], data: Any) -> T:
    """Rebuild a dataclass ``cls`` from :func:`to_jsonable` output."""
    return typing.cast(T, _decode(cls, data))


def _decode(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(options[0], data) if len(options) == 1 else data
    if origin is typing.Literal or tp is Any:
        return data
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"expected an object for {tp.__name__}, got {data!r:.100}")
        hints = _hints(tp)
        values = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data and f.init
        }
        return tp(**values)
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(tp)
        inner = args[0] if args else Any
        items = [_decode(inner, v) for v in data]
        return origin(items) if origin is not list else items
    if origin is dict:
        args = typing.get_args(tp)
        inner = args[1] if len(args) == 2 else Any
        return {k: _decode(inner, v) for k, v in data.items()}
    return data
