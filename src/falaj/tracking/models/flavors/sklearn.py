"""scikit-learn models (Pipelines included) through skops, with an explicit allow-list.

skops refuses to build any type it does not trust. Falaj adds an explicit, reviewed list of
types that scikit-learn models commonly contain (:data:`TRUSTED_TYPES`) and never uses skops'
trust-everything mode. A model holding any other type must be logged with ``trusted=True``; the
manifest then records those types, and loading it needs ``trusted=True`` again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import IntegrityError
from falaj.tracking.errors import UntrustedModelError
from falaj.tracking.models.flavors.base import Saved, module_loaded

__all__ = ["TRUSTED_TYPES", "SklearnFlavor"]

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.loss.AbsoluteError",
        "sklearn._loss.loss.HalfPoissonLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.LogLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.link.Interval",
        "sklearn.ensemble._gb.BinomialDeviance",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.utils._bunch.Bunch",
        "collections.OrderedDict",
        "collections.defaultdict",
    }
)
_MODEL_FILE = "model.skops"


class SklearnFlavor:
    name = "sklearn"
    needs_trust = False

    def matches(self, model: Any) -> bool:
        if not module_loaded(model, "sklearn"):
            return False
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(self, model: Any, *, trusted: bool) -> Saved:
        import skops.io as sio

        data = sio.dumps(model)
        extra = sorted(set(sio.get_untrusted_types(data=data)) - TRUSTED_TYPES)
        if extra and not trusted:
            raise UntrustedModelError(
                f"the {type(model).__name__} model holds types outside Falaj's allow-list "
                f"({', '.join(extra)}); loading them could run code. Log it with trusted=True "
                "if you trust them (loading will need trusted=True too)"
            )
        meta = {
            "file": _MODEL_FILE,
            "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
            "extra_trusted_types": extra,
            "has_predict_proba": hasattr(model, "predict_proba"),
        }
        return Saved({_MODEL_FILE: data}, meta)

    def load(self, files: dict[str, bytes], meta: dict[str, Any], *, trusted: bool) -> Any:
        import skops.io as sio

        data = files.get(_MODEL_FILE)
        if data is None:
            raise IntegrityError(f"the scikit-learn model archive lacks {_MODEL_FILE}")
        _check_skops(data)
        found = set(sio.get_untrusted_types(data=data))
        extra = sorted(found - TRUSTED_TYPES)
        recorded = set(meta.get("extra_trusted_types") or [])
        if extra and not trusted:
            note = " (recorded as trusted when it was logged)" if set(extra) <= recorded else ""
            raise UntrustedModelError(
                f"this scikit-learn model holds types outside Falaj's allow-list "
                f"({', '.join(extra)}){note}; load it with trusted=True if you trust its source"
            )
        allowed = sorted(found & TRUSTED_TYPES) + (extra if trusted else [])
        return sio.loads(data, trusted=allowed)

    def predict(self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> np.ndarray:
        return np.asarray(raw.predict(frame))

    def predict_proba(
        self, raw: Any, frame: pd.DataFrame, meta: dict[str, Any]
    ) -> np.ndarray | None:
        if not hasattr(raw, "predict_proba"):
            return None
        return np.asarray(raw.predict_proba(frame))

    def libraries(self) -> tuple[str, ...]:
        return ("scikit-learn", "skops")


def _check_skops(data: bytes) -> None:
    """A skops file is a zip: refuse one that is not, or that is a zip bomb, before skops reads."""
    import io
    import zipfile

    from falaj.tracking.models.ziplimits import check_archive

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_archive(archive, what=f"skops file {_MODEL_FILE}")
            if "schema.json" not in archive.namelist():
                raise IntegrityError(f"{_MODEL_FILE} is not a skops file (schema.json is missing)")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise IntegrityError(
            f"{_MODEL_FILE} is not a skops file (not a zip archive: pickle bytes?); refused"
        ) from exc
