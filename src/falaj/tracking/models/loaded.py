"""``LoadedModel``: a model loaded from its archive, predicting under its signature."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from falaj.errors import InvalidInputError
from falaj.tracking.errors import ModelPredictionError
from falaj.tracking.models.signature import enforce_signature

if TYPE_CHECKING:
    import pandas as pd

    from falaj.tracking.models.flavors.base import Flavor

__all__ = ["LoadedModel", "NoPredictProbaError"]


class NoPredictProbaError(InvalidInputError):
    """``predict_proba`` on a model that predicts no probabilities (a regressor...)."""


class LoadedModel:
    """A loaded model: ``predict``/``predict_proba`` check their input against the signature."""

    def __init__(
        self,
        *,
        flavor: str,
        signature: dict[str, Any] | None,
        raw: Any,
        trusted: bool,
        manifest: dict[str, Any],
        impl: Flavor,
    ) -> None:
        self.flavor = flavor
        self.signature = signature
        self.raw = raw
        self.trusted = trusted
        self.manifest = manifest
        self._impl = impl
        self._meta = dict(manifest.get("flavor_meta") or {})

    @property
    def input_columns(self) -> list[str] | None:
        if not self.signature:
            return None
        return [str(c["name"]) for c in self.signature.get("inputs", [])]

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Predictions for ``df`` (missing column or wrong type: SchemaError naming it)."""
        frame = enforce_signature(self.signature, df)
        try:
            return np.asarray(self._impl.predict(self.raw, frame, self._meta))
        except (ValueError, TypeError) as exc:
            raise self._refused("predict", frame, exc) from exc

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for ``df``, one column per class."""
        if not self._meta.get("has_predict_proba", True):
            raise NoPredictProbaError(self._no_proba())
        frame = enforce_signature(self.signature, df)
        try:
            out = self._impl.predict_proba(self.raw, frame, self._meta)
        except (ValueError, TypeError) as exc:
            raise self._refused("predict_proba", frame, exc) from exc
        if out is None:
            raise NoPredictProbaError(self._no_proba())
        return np.asarray(out)

    def _refused(self, call: str, frame: pd.DataFrame, exc: Exception) -> ModelPredictionError:
        what = self._meta.get("estimator") or self._meta.get("class") or self.flavor
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        nans = [str(c) for c in frame.columns if bool(frame[c].isna().any())]
        hint = f" (columns with missing values: {', '.join(nans)})" if nans else ""
        return ModelPredictionError(
            f"this {self.flavor} model ({what}) refused {call} on {len(frame)} row(s): "
            f"{reason}{hint}"
        )

    def _no_proba(self) -> str:
        what = self._meta.get("estimator") or self._meta.get("class") or self.flavor
        return f"this {self.flavor} model ({what}) does not predict probabilities"

    def __repr__(self) -> str:
        cols = self.input_columns
        shown = f", inputs={len(cols)} columns" if cols else ""
        return f"LoadedModel(flavor={self.flavor!r}{shown}, trusted={self.trusted})"
