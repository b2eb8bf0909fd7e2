"""The generic python-function flavor: any object with ``predict(DataFrame) -> array``.

It is serialized with cloudpickle, and unpickling runs code: logging needs ``trusted=True``
(recorded in the manifest), and loading needs ``trusted=True`` again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import InvalidInputError
from falaj.tracking.errors import UntrustedModelError
from falaj.tracking.models.flavors.base import Saved

__all__ = ["PyfuncFlavor"]

_FILE = "model.pkl"


class PyfuncFlavor:
    name = "pyfunc"
    needs_trust = True

    def matches(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None))

    def save(self, model: Any, *, trusted: bool) -> Saved:
        if not callable(getattr(model, "predict", None)):
            raise InvalidInputError(
                f"a pyfunc model needs a predict(DataFrame) method; {type(model).__name__} has none"
            )
        if not trusted:
            raise UntrustedModelError(
                f"{type(model).__name__} can only be stored with pickle (the pyfunc flavor), and "
                "loading a pickle runs code: log it with trusted=True if you trust it"
            )
        import cloudpickle  # type: ignore[import-untyped]

        meta = {
            "file": _FILE,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "has_predict_proba": callable(getattr(model, "predict_proba", None)),
        }
        return Saved({_FILE: cloudpickle.dumps(model)}, meta)

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any:
        if not trusted:
            raise UntrustedModelError(
                f"this model ({meta.get('class', 'python object')}) is a pickle and loading it "
                "runs code; load it with trusted=True only if you trust who logged it"
            )
        import pickle

        return pickle.loads(files[_FILE])  # guarded by trusted=True above

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
        return np.asarray(raw.predict(frame))

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None:
        method = getattr(raw, "predict_proba", None)
        return None if method is None else np.asarray(method(frame))

    def libraries(self) -> tuple[str, ...]:
        return ("cloudpickle",)
