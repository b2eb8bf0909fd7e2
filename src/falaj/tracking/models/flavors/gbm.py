"""LightGBM and XGBoost models in their native formats (LightGBM text, XGBoost JSON).

Neither format runs code when loaded. The scikit-learn wrappers (``LGBMClassifier``,
``XGBRegressor``...) are saved through their booster; the manifest keeps what the wrapper adds
(the estimator kind and the class labels), so the loaded model predicts labels and probabilities
like the original.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import IntegrityError
from falaj.tracking.models.flavors.base import Saved, module_loaded

__all__ = ["LightGBMFlavor", "XGBoostFlavor"]

_LGB_FILE = "model.lgb.txt"
_XGB_FILE = "model.xgb.json"


def _classes(model: Any) -> list[Any] | None:
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None
    return [c.item() if hasattr(c, "item") else c for c in np.asarray(classes)]


def _labels(proba: np.ndarray, classes: list[Any]) -> np.ndarray:
    labels: np.ndarray = np.asarray(classes)[np.argmax(proba, axis=1)]
    return labels


def _two_columns(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype="float64")
    return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p


class LightGBMFlavor:
    name = "lightgbm"
    needs_trust = False

    def matches(self, model: Any) -> bool:
        return module_loaded(model, "lightgbm")

    def save(self, model: Any, *, trusted: bool) -> Saved:
        import lightgbm as lgb

        if isinstance(model, lgb.Booster):
            booster, kind, classes = model, "booster", None
        elif isinstance(model, lgb.LGBMModel):
            booster = model.booster_
            kind = "classifier" if isinstance(model, lgb.LGBMClassifier) else "regressor"
            classes = _classes(model) if kind == "classifier" else None
        else:
            raise TypeError(f"not a LightGBM model: {type(model).__name__}")
        text = booster.model_to_string()
        meta = {
            "file": _LGB_FILE,
            "kind": kind,
            "classes": classes,
            "estimator": type(model).__name__,
            "has_predict_proba": kind == "classifier",
        }
        return Saved({_LGB_FILE: text.encode("utf-8")}, meta)

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any:
        import lightgbm as lgb

        try:
            return lgb.Booster(model_str=files[_LGB_FILE].decode("utf-8"))
        except lgb.basic.LightGBMError as exc:
            raise IntegrityError(f"the LightGBM model file is not valid: {exc}") from exc

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
        out = np.asarray(raw.predict(frame))
        if meta.get("kind") == "classifier":
            return _labels(_two_columns(out), list(meta["classes"]))
        return out

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None:
        if meta.get("kind") != "classifier":
            return None
        return _two_columns(np.asarray(raw.predict(frame)))

    def libraries(self) -> tuple[str, ...]:
        return ("lightgbm",)


class XGBoostFlavor:
    name = "xgboost"
    needs_trust = False

    def matches(self, model: Any) -> bool:
        return module_loaded(model, "xgboost")

    def save(self, model: Any, *, trusted: bool) -> Saved:
        import xgboost as xgb

        if isinstance(model, xgb.Booster):
            booster, kind, classes = model, "booster", None
        elif isinstance(model, xgb.XGBModel):
            booster = model.get_booster()
            kind = "classifier" if isinstance(model, xgb.XGBClassifier) else "regressor"
            classes = _classes(model) if kind == "classifier" else None
        else:
            raise TypeError(f"not an XGBoost model: {type(model).__name__}")
        raw = bytes(booster.save_raw(raw_format="json"))
        meta = {
            "file": _XGB_FILE,
            "kind": kind,
            "classes": classes,
            "estimator": type(model).__name__,
            "feature_names": list(booster.feature_names or []),
            "has_predict_proba": kind == "classifier",
        }
        return Saved({_XGB_FILE: raw}, meta)

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any:
        import xgboost as xgb

        booster = xgb.Booster()
        with tempfile.TemporaryDirectory(prefix="falaj-xgb-") as tmp:
            path = Path(tmp) / _XGB_FILE
            path.write_bytes(files[_XGB_FILE])
            try:
                booster.load_model(str(path))
            except xgb.core.XGBoostError as exc:
                raise IntegrityError(f"the XGBoost model file is not valid: {exc}") from exc
        return booster

    def _margin(self, raw: Any, frame: pd.DataFrame) -> np.ndarray:
        import xgboost as xgb

        return np.asarray(raw.predict(xgb.DMatrix(frame)))

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
        out = self._margin(raw, frame)
        if meta.get("kind") == "classifier":
            return _labels(_two_columns(out), list(meta["classes"]))
        return out

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None:
        if meta.get("kind") != "classifier":
            return None
        return _two_columns(self._margin(raw, frame))

    def libraries(self) -> tuple[str, ...]:
        return ("xgboost",)
