"""Materializers: a step output as bytes (content-addressed in the artifact store) and back.

| value                               | materializer | bytes                                 |
|-------------------------------------|--------------|---------------------------------------|
| ``pandas.DataFrame``                | ``parquet``  | Apache Parquet (pyarrow)              |
| ``numpy.ndarray``                   | ``npy``      | ``.npy`` without pickle               |
| dict / list / str / numbers / None  | ``json``     | UTF-8 JSON                            |
| a model (sklearn, LightGBM, ...)    | ``model``    | the tracking package's model flavors  |
| anything else, step ``trusted=True``| ``pickle``   | pickle (only ever loaded when trusted)|

Heavy libraries are imported only when a value of their type shows up.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass
from typing import Any

from falaj.errors import IntegrityError
from falaj.pipelines.errors import UnsafeOutputError

__all__ = ["Materialized", "materialize", "unmaterialize"]

_MODEL_MODULES = ("sklearn", "lightgbm", "xgboost", "onnx", "onnxruntime", "imblearn")


@dataclass(frozen=True)
class Materialized:
    """One output as bytes, with how to read it back."""

    materializer: str
    media_type: str
    data: bytes


def materialize(value: Any, *, trusted: bool, where: str) -> Materialized:
    """Encode ``value``; ``where`` (``step 'x' output 'y'``) names the output in errors."""
    module = type(value).__module__.split(".", 1)[0]
    if module == "pandas" and type(value).__name__ == "DataFrame":
        buf = io.BytesIO()
        value.to_parquet(buf, index=True, engine="pyarrow")
        return Materialized("parquet", "application/vnd.apache.parquet", buf.getvalue())
    if module == "numpy" and type(value).__name__ == "ndarray":
        import numpy as np

        buf = io.BytesIO()
        try:
            np.save(buf, value, allow_pickle=False)
        except ValueError as exc:
            return _pickle_or_refuse(value, trusted, where, f"object arrays need pickle ({exc})")
        return Materialized("npy", "application/x-npy", buf.getvalue())
    json_bytes = _as_json(value)
    if json_bytes is not None:
        return Materialized("json", "application/json", json_bytes)
    if _looks_like_model(value):
        return _model(value, trusted, where)
    return _pickle_or_refuse(value, trusted, where, "no materializer handles this type")


def unmaterialize(materializer: str, data: bytes, *, trusted: bool) -> Any:
    """Decode bytes written by :func:`materialize`."""
    if materializer == "parquet":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    if materializer == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if materializer == "json":
        return json.loads(data.decode("utf-8"))
    if materializer == "model":
        return _tracking_models().unpack_model(data, trusted=trusted)
    if materializer == "pickle":
        if not trusted:
            raise UnsafeOutputError(
                "this input was stored with pickle; only a step marked trusted=True may load it"
            )
        return pickle.loads(data)
    raise IntegrityError(f"unknown materializer {materializer!r} recorded for a step output")


def _as_json(value: Any) -> bytes | None:
    if not isinstance(value, dict | list | tuple | str | int | float | bool) and value is not None:
        return None
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return text.encode("utf-8")


def _looks_like_model(value: Any) -> bool:
    root = type(value).__module__.split(".", 1)[0]
    if root in _MODEL_MODULES:
        return True
    return callable(getattr(value, "predict", None)) and callable(getattr(value, "fit", None))


def _model(value: Any, trusted: bool, where: str) -> Materialized:
    try:
        models = _tracking_models()
    except ImportError:
        return _pickle_or_refuse(
            value, trusted, where, "model flavors need the tracking package (falaj.tracking)"
        )
    packed = models.pack_model(value, trusted=trusted)
    return Materialized("model", "application/vnd.falaj.model", packed.data)


def _tracking_models() -> Any:
    """``falaj.tracking.models`` (model flavors), imported only when a model shows up."""
    import importlib

    return importlib.import_module("falaj.tracking.models")


def _pickle_or_refuse(value: Any, trusted: bool, where: str, why: str) -> Materialized:
    if not trusted:
        raise UnsafeOutputError(
            f"{where}: a {type(value).__module__}.{type(value).__qualname__} can only be stored "
            f"with pickle ({why}); return a DataFrame, ndarray, JSON value or model, or mark the "
            "step @step(trusted=True) if you trust everyone who will load it"
        )
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise UnsafeOutputError(f"{where}: cannot be pickled: {exc}") from exc
    return Materialized("pickle", "application/x-python-pickle", data)
