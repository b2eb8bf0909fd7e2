"""Model signatures: input columns and types (inferred from an example), and their enforcement.

A signature is plain JSON: ``{"inputs": [{"name": "age", "type": "integer"}, ...],
"outputs": [{"name": "prediction", "type": "float"}]}``. Types: ``integer``, ``float``,
``boolean``, ``string``, ``datetime``. Enforcement at predict time refuses a missing column or a
value of the wrong type with a :class:`~falaj.errors.SchemaError` naming the column; integers are
accepted where floats are expected (widened), extra columns are ignored, and the columns are
handed to the model in the signature's order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import SchemaError

__all__ = ["TYPES", "enforce_signature", "infer_output_schema", "infer_signature", "type_of"]

TYPES = ("integer", "float", "boolean", "string", "datetime")


def type_of(series: pd.Series) -> str:
    """The signature type of a column."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or dtype == np.dtype(object):
        values = series.dropna()
        if all(isinstance(v, str) for v in values):
            return "string"
    raise SchemaError(
        f"column {series.name!r} has dtype {dtype} that a signature cannot describe: "
        f"expected one of {', '.join(TYPES)}"
    )


def infer_signature(example: pd.DataFrame, prediction: Any | None = None) -> dict[str, Any]:
    """The signature of a model that takes frames like ``example`` (and returns ``prediction``)."""
    if not isinstance(example, pd.DataFrame):
        raise SchemaError(f"input_example must be a pandas DataFrame, got {type(example).__name__}")
    if example.empty and len(example.columns) == 0:
        raise SchemaError("input_example has no columns")
    inputs = [{"name": str(col), "type": type_of(example[col])} for col in example.columns]
    signature: dict[str, Any] = {"inputs": inputs, "outputs": []}
    if prediction is not None:
        signature["outputs"] = infer_output_schema(prediction)
    return signature


def infer_output_schema(prediction: Any) -> list[dict[str, Any]]:
    array = np.asarray(prediction)
    kind = array.dtype.kind
    mapping = {"i": "integer", "u": "integer", "f": "float", "b": "boolean", "M": "datetime"}
    out_type = mapping.get(kind, "string")
    shape = [-1, *array.shape[1:]]
    return [{"name": "prediction", "type": out_type, "shape": shape}]


def enforce_signature(signature: dict[str, Any] | None, data: Any) -> pd.DataFrame:
    """``data`` as a frame with the signature's columns, in order; refuses what does not fit."""
    frame = _as_frame(data)
    if not signature or not signature.get("inputs"):
        return frame
    inputs = signature["inputs"]
    expected = [str(col["name"]) for col in inputs]
    missing = [name for name in expected if name not in frame.columns]
    if missing:
        raise SchemaError(
            f"input column {missing[0]!r} is missing: the model expects columns "
            f"{', '.join(expected)}"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
        )
    out = {}
    for spec in inputs:
        name = str(spec["name"])
        out[name] = _check_column(frame[name], name, str(spec["type"]))
    return pd.DataFrame(out, index=frame.index)


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except ValueError as exc:
            raise SchemaError(f"input could not be turned into a table: {exc}") from exc
    raise SchemaError(
        f"model input must be a pandas DataFrame (or a dict of columns), got {type(data).__name__}"
    )


def _check_column(series: pd.Series, name: str, expected: str) -> pd.Series:
    dtype = series.dtype
    actual = _safe_type(series)
    if expected == actual:
        return series
    if expected == "float" and actual == "integer":
        return series.astype("float64")
    if expected == "string" and isinstance(dtype, pd.CategoricalDtype):
        return series
    if expected == "integer" and actual == "float":
        values = series.dropna()
        if len(values) == len(series) and bool(np.all(np.mod(values, 1) == 0)):
            return series.astype("int64")
    raise SchemaError(
        f"input column {name!r} has type {actual} (dtype {dtype}): the model expects {expected}"
    )


def _safe_type(series: pd.Series) -> str:
    try:
        return type_of(series)
    except SchemaError:
        return f"mixed/{series.dtype}"
