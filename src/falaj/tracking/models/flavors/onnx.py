"""ONNX models, run with onnxruntime: a graph, no code to trust.

Inputs are matched to the graph: a graph whose inputs are named like the frame's columns gets
one ``(n, 1)`` tensor per column; a graph with a single input gets the whole frame as one
``(n, columns)`` tensor of the input's element type.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import IntegrityError, SchemaError
from falaj.tracking.models.flavors.base import Saved, module_loaded

__all__ = ["OnnxFlavor"]

_FILE = "model.onnx"
_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


class OnnxFlavor:
    name = "onnx"
    needs_trust = False

    def matches(self, model: Any) -> bool:
        return module_loaded(model, "onnx") and type(model).__name__ == "ModelProto"

    def save(self, model: Any, *, trusted: bool) -> Saved:
        data = model.SerializeToString()
        session = self._session(data)
        outputs = [o.name for o in session.get_outputs()]
        meta = {
            "file": _FILE,
            "inputs": [{"name": i.name, "type": i.type} for i in session.get_inputs()],
            "outputs": outputs,
            "has_predict_proba": any("prob" in o.lower() for o in outputs),
        }
        return Saved({_FILE: data}, meta)

    def _session(self, data: bytes) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise IntegrityError(f"the ONNX model cannot be loaded: {exc}") from exc

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any:
        return self._session(files[_FILE])

    def _feed(self, session: Any, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        inputs = session.get_inputs()
        names = [i.name for i in inputs]
        if len(inputs) > 1 or names[0] in frame.columns:
            feed = {}
            for spec in inputs:
                if spec.name not in frame.columns:
                    raise SchemaError(
                        f"input column {spec.name!r} is missing: the ONNX graph needs it"
                    )
                dtype = _NUMPY_TYPES.get(spec.type, np.float32)
                column = frame[spec.name].to_numpy()
                feed[spec.name] = column.astype(dtype if dtype is not np.str_ else object).reshape(
                    -1, 1
                )
            return feed
        dtype = _NUMPY_TYPES.get(inputs[0].type, np.float32)
        return {names[0]: frame.to_numpy().astype(dtype)}

    def _run(self, session: Any, frame: pd.DataFrame) -> list[Any]:
        return list(session.run(None, self._feed(session, frame)))

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
        return np.asarray(self._run(raw, frame)[0])

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None:
        names = [o.name for o in raw.get_outputs()]
        index = next((i for i, n in enumerate(names) if "prob" in n.lower()), None)
        if index is None:
            return None
        out = self._run(raw, frame)[index]
        if isinstance(out, list) and out and isinstance(out[0], dict):  # skl2onnx ZipMap
            keys = sorted(out[0])
            return np.asarray([[row[k] for k in keys] for row in out], dtype="float64")
        return np.asarray(out)

    def libraries(self) -> tuple[str, ...]:
        return ("onnx", "onnxruntime")
