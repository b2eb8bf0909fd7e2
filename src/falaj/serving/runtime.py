"""``ModelRuntime``: one loaded revision, the decoding of requests into its input frame, and the
encoding of its answers.

Decoding validates against the model's signature before the model sees anything: a missing
column, a value of the wrong type, a missing value (``null``) where the column does not allow
one, a tensor whose shape does not match its data, or tensors of different lengths each raise
:class:`InferenceInputError` naming the column, the value and what was expected (HTTP 400).
Open Inference Protocol v2 inputs carry one named tensor per column (MLServer's pandas codec):
``{"name": "age", "shape": [N] or [N, 1], "datatype": "INT64", "data": [...]}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from falaj.serving.errors import InferenceInputError
from falaj.serving.ports import LoadableModel

__all__ = ["Answer", "ColumnSpec", "ModelRuntime", "argmax_is_predict", "datatype_of"]

_V2_TYPES: dict[str, str] = {
    "BOOL": "boolean",
    "UINT8": "integer",
    "UINT16": "integer",
    "UINT32": "integer",
    "UINT64": "integer",
    "INT8": "integer",
    "INT16": "integer",
    "INT32": "integer",
    "INT64": "integer",
    "FP16": "float",
    "FP32": "float",
    "FP64": "float",
    "BYTES": "string",
}
_NUMPY: dict[str, Any] = {"integer": np.int64, "float": np.float64, "boolean": np.bool_}


def datatype_of(array: np.ndarray) -> str:
    """The v2 datatype of an output array."""
    kind = array.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    return "BYTES"


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool = False


@dataclass
class Answer:
    """The model's outputs for one request."""

    predict: np.ndarray
    proba: np.ndarray | None = None

    def outputs(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"predict": self.predict.tolist()}
        if self.proba is not None:
            out["predict_proba"] = self.proba.tolist()
        return out

    def positive_proba(self) -> np.ndarray | None:
        if self.proba is not None and self.proba.ndim == 2 and self.proba.shape[1] == 2:
            return self.proba[:, 1]
        return None

    def v2_outputs(self) -> list[dict[str, Any]]:
        rows = len(self.predict)
        out = [
            {
                "name": "predict",
                "shape": [rows, *self.predict.shape[1:]],
                "datatype": datatype_of(self.predict),
                "data": self.predict.ravel().tolist(),
            }
        ]
        if self.proba is not None:
            out.append(
                {
                    "name": "predict_proba",
                    "shape": list(self.proba.shape),
                    "datatype": "FP64",
                    "data": self.proba.ravel().tolist(),
                }
            )
        return out


@dataclass
class ModelRuntime:
    """A revision's loaded model, ready to validate and answer requests."""

    model_name: str
    model_version: int
    artifact_digest: str
    model: LoadableModel
    revision_id: str | None = None
    explainer: Any | None = None
    #: fills in feature columns from entity keys (``--features SERVICE``): columns -> columns
    enrich: Callable[[Mapping[str, list[Any]]], Mapping[str, list[Any]]] | None = None
    columns: list[ColumnSpec] = field(default_factory=list)
    has_proba: bool = True

    def __post_init__(self) -> None:
        signature = self.model.signature or {}
        self.columns = [
            ColumnSpec(
                str(c["name"]),
                str(c.get("type", "float")),
                bool(c.get("nullable") or c.get("optional")),
            )
            for c in signature.get("inputs", [])
        ]
        meta = dict(self.model.manifest.get("flavor_meta") or {})
        self.has_proba = bool(meta.get("has_predict_proba", self.model.flavor != "onnx"))
        raw = self._estimator
        self._argmax = raw is not None and argmax_is_predict(raw)

    # -- metadata (GET /v2/models/{name}) ----------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        inverse = {"boolean": "BOOL", "integer": "INT64", "float": "FP64"}
        outputs: list[dict[str, Any]] = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
        if self.has_proba:
            outputs.append({"name": "predict_proba", "datatype": "FP64", "shape": [-1, -1]})
        return {
            "name": self.model_name,
            "versions": [str(self.model_version)],
            "platform": f"falaj-{self.model.flavor}",
            "inputs": [
                {"name": c.name, "datatype": inverse.get(c.type, "BYTES"), "shape": [-1]}
                for c in self.columns
            ],
            "outputs": outputs,
            "parameters": {"artifact_digest": self.artifact_digest, "revision": self.revision_id},
        }

    # -- decoding ------
    def frame_from_v2(self, inputs: Any) -> pd.DataFrame:
        """The input frame of a v2 ``inputs`` list (validated, in signature order)."""
        if not isinstance(inputs, list) or not inputs:
            raise InferenceInputError(
                "'inputs' is missing or empty: expected a list of tensors, one per column, like "
                '{"name": "age", "shape": [1], "datatype": "INT64", "data": [42]}'
            )
        columns: dict[str, list[Any]] = {}
        declared: dict[str, str] = {}
        for i, tensor in enumerate(inputs):
            if not isinstance(tensor, dict):
                raise InferenceInputError(
                    f"inputs[{i}] is {type(tensor).__name__}: expected an object"
                )
            name = tensor.get("name")
            if not isinstance(name, str) or not name:
                raise InferenceInputError(f"inputs[{i}] has no 'name': expected the column name")
            data = tensor.get("data")
            if not isinstance(data, list):
                raise InferenceInputError(f"input {name!r}: 'data' must be a list")
            if data and isinstance(data[0], list):  # [[v], [v]] for shape [N, 1]
                if any(not isinstance(v, list) or len(v) != 1 for v in data):
                    raise InferenceInputError(
                        f"input {name!r}: nested 'data' must hold one value per row"
                    )
                data = [v[0] for v in data]
            shape = tensor.get("shape")
            if shape is not None:
                if not isinstance(shape, list) or not all(
                    isinstance(s, int) and s >= 0 for s in shape
                ):
                    raise InferenceInputError(
                        f"input {name!r}: 'shape' {shape!r} is invalid: expected [N] or [N, 1]"
                    )
                if math.prod(shape) != len(data) or (len(shape) > 1 and shape[1:] != [1]):
                    raise InferenceInputError(
                        f"input {name!r}: shape {shape} does not match its {len(data)} value(s): "
                        "expected [N] or [N, 1] with N values (one tensor per column)"
                    )
            datatype = tensor.get("datatype")
            if datatype is not None and datatype not in _V2_TYPES:
                raise InferenceInputError(
                    f"input {name!r}: datatype {datatype!r} is unknown: expected one of "
                    f"{', '.join(_V2_TYPES)}"
                )
            columns[name] = data
            if datatype is not None:
                declared[name] = datatype
        return self._frame(columns, declared)

    def frame_from_records(self, records: Any) -> pd.DataFrame:
        """The input frame of JSON records ``[{"age": 42, ...}, ...]``."""
        if isinstance(records, dict):
            records = records.get("records", records.get("instances", records.get("inputs")))
        if not isinstance(records, list) or not records:
            raise InferenceInputError(
                'expected a non-empty JSON list of records like [{"age": 42, ...}] '
                '(or {"records": [...]})'
            )
        if not all(isinstance(r, dict) for r in records):
            raise InferenceInputError("every record must be a JSON object of column: value")
        columns = {c.name: [r.get(c.name, _MISSING) for r in records] for c in self.columns}
        if self.enrich is not None:  # entity keys are not model inputs: keep what was sent
            sent = {name for r in records for name in r}
            columns = {n: [r.get(n, _MISSING) for r in records] for n in sent | set(columns)}
        if not self.columns:
            names = list(records[0])
            columns = {n: [r.get(n) for r in records] for n in names}
        return self._frame(columns, {})

    def _frame(self, columns: Mapping[str, list[Any]], declared: Mapping[str, str]) -> pd.DataFrame:
        if self.enrich is not None:
            columns = self.enrich(columns)
        if not self.columns:
            return pd.DataFrame(dict(columns))
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise InferenceInputError(
                f"input tensors have different lengths ({sorted(lengths)}): every column needs "
                "one value per row"
            )
        out: dict[str, np.ndarray] = {}
        for spec in self.columns:
            values = columns.get(spec.name)
            if values is None:
                raise InferenceInputError(
                    f"input column {spec.name!r} is missing: the model expects columns "
                    f"{', '.join(c.name for c in self.columns)}"
                )
            dtype = declared.get(spec.name)
            if dtype is not None and not _compatible(_V2_TYPES[dtype], spec.type):
                raise InferenceInputError(
                    f"input column {spec.name!r} has datatype {dtype}: the model expects "
                    f"{spec.type}"
                )
            out[spec.name] = _column(spec, values)
        return pd.DataFrame(out)

    # -- answering ------
    def infer(self, frame: pd.DataFrame, *, proba: bool = True) -> Answer:
        """The model's answers for a validated frame (in signature order and types).

        scikit-learn models take a fast path: the frame already fits the signature, so the
        estimator is called directly (the sklearn flavor's predict is the estimator's own),
        and for classifiers whose ``predict`` is by definition the most probable class
        (:data:`_ARGMAX_CLASSIFIERS`) the class comes from the one ``predict_proba`` call.
        """
        raw = self._estimator
        if raw is None:
            predict = np.asarray(self.model.predict(frame))
            probabilities = None
            if proba and self.has_proba:
                probabilities = np.asarray(self.model.predict_proba(frame), dtype=np.float64)
            return Answer(predict, probabilities)
        try:
            if proba and self.has_proba:
                probabilities = np.asarray(raw.predict_proba(frame), dtype=np.float64)
                if self._argmax:
                    return Answer(
                        np.asarray(raw.classes_)[probabilities.argmax(axis=1)], probabilities
                    )
                return Answer(np.asarray(raw.predict(frame)), probabilities)
            return Answer(np.asarray(raw.predict(frame)))
        except (ValueError, TypeError) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InferenceInputError(
                f"the model refused {len(frame)} row(s) that fit its signature: {reason}"
            ) from exc

    @property
    def _estimator(self) -> Any | None:
        if self.model.flavor != "sklearn":
            return None
        return getattr(self.model, "raw", None)


def argmax_is_predict(estimator: Any) -> bool:
    """Whether ``estimator.predict`` is by definition the class of highest probability."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return (
        type(final).__name__ in _ARGMAX_CLASSIFIERS
        and type(final).__module__.startswith("sklearn.")
        and hasattr(estimator, "classes_")
    )


#: scikit-learn classifiers whose ``predict`` is the class of highest ``predict_proba`` (so one
#: call answers both; a unit test checks the equality on real data).
_ARGMAX_CLASSIFIERS = frozenset(
    {
        "LogisticRegression",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
        "HistGradientBoostingClassifier",
        "GradientBoostingClassifier",
    }
)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _compatible(given: str, expected: str) -> bool:
    return given == expected or (given == "integer" and expected == "float")


def _column(spec: ColumnSpec, values: Sequence[Any]) -> np.ndarray:
    fast = _numeric_fast(spec, values)
    if fast is not None:
        return fast
    name, expected = spec.name, spec.type
    for row, value in enumerate(values):
        if value is _MISSING:
            raise InferenceInputError(
                f"input column {name!r} is missing in record {row}: the model expects it in "
                "every record"
            )
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if not spec.nullable:
                raise InferenceInputError(
                    f"input column {name!r} has a missing value (null/NaN) in row {row}: the "
                    "model's signature does not allow missing values there"
                )
            continue
        if not _fits(value, expected):
            raise InferenceInputError(
                f"input column {name!r} has value {str(value)[:50]!r} "
                f"({type(value).__name__}) in row {row}: the model expects {expected}"
            )
    if expected == "float":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if expected == "integer":
        if any(v is None for v in values):
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return np.array(values, dtype=np.int64)
    if expected == "boolean":
        return np.array(values, dtype=object if None in values else np.bool_)
    if expected == "datetime":
        return np.asarray(pd.to_datetime(list(values)))
    return np.array(values, dtype=object)


def _numeric_fast(spec: ColumnSpec, values: Sequence[Any]) -> np.ndarray | None:
    """A numeric column converted in one NumPy call when every value is already a number (no
    null, no bool, no text); None sends it through the value-by-value checks and their
    messages."""
    if spec.type not in ("float", "integer") or not values:
        return None
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        return None
    kind = array.dtype.kind
    if array.ndim != 1 or kind not in "iuf" or any(type(v) is bool for v in values):
        return None  # NumPy would turn true/false among numbers into 1/0
    if kind == "f":
        if np.isnan(array).any():
            return None  # missing values: the slow path names the row (or allows them)
        if spec.type == "integer":
            return None if not np.all(np.mod(array, 1) == 0) else array.astype(np.int64)
        return array.astype(np.float64, copy=False)
    return array.astype(np.float64 if spec.type == "float" else np.int64, copy=False)


def _fits(value: Any, expected: str) -> bool:
    if expected == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "datetime":
        if not isinstance(value, str):
            return False
        try:
            pd.Timestamp(value)
        except ValueError:
            return False
        return True
    return isinstance(value, str)


def feature_enricher(
    lookup: Any,
) -> Callable[[Mapping[str, list[Any]]], Mapping[str, list[Any]]]:
    """Columns -> columns with the feature service's features looked up online by the entity
    keys the request carries (``lookup``: the feature store's ``FeatureLookup``, with
    ``join_keys`` and ``many({key: [values]}) -> {column: [values]}``). A request that sends the
    feature columns itself is used as sent; stale or unknown entities come back missing, which
    the signature check then names."""
    keys = [str(k) for k in lookup.join_keys]

    def enrich(columns: Mapping[str, list[Any]]) -> Mapping[str, list[Any]]:
        if not all(k in columns for k in keys):
            return columns
        fetched = lookup.many({k: list(columns[k]) for k in keys})
        out = dict(columns)
        for name, values in fetched.items():
            current = out.get(name)
            if current is None or all(v is _MISSING for v in current):
                out[name] = list(values)
        return out

    return enrich
