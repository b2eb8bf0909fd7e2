"""Model flavors: scikit-learn (skops), LightGBM, XGBoost, ONNX and the pickled python-function."""

from __future__ import annotations

from falaj.errors import InvalidInputError
from falaj.tracking.models.flavors.base import Flavor, Saved, versions
from falaj.tracking.models.flavors.gbm import LightGBMFlavor, XGBoostFlavor
from falaj.tracking.models.flavors.onnx import OnnxFlavor
from falaj.tracking.models.flavors.pyfunc import PyfuncFlavor
from falaj.tracking.models.flavors.sklearn import TRUSTED_TYPES, SklearnFlavor

__all__ = ["FLAVORS", "TRUSTED_TYPES", "Flavor", "Saved", "detect_flavor", "get_flavor", "versions"]

#: In detection order: the gradient-boosting wrappers subclass scikit-learn's BaseEstimator, so
#: they are checked first; pyfunc (any object with predict) is the last resort.
FLAVORS: dict[str, Flavor] = {
    f.name: f
    for f in (LightGBMFlavor(), XGBoostFlavor(), OnnxFlavor(), SklearnFlavor(), PyfuncFlavor())
}


def get_flavor(name: str) -> Flavor:
    flavor = FLAVORS.get(name) if isinstance(name, str) else None
    if flavor is None:
        raise InvalidInputError(
            f"flavor {name!r} is unknown: expected one of {', '.join(sorted(FLAVORS))}"
        )
    return flavor


def detect_flavor(model: object) -> Flavor:
    for flavor in FLAVORS.values():
        if flavor.matches(model):
            return flavor
    raise InvalidInputError(
        f"cannot store a {type(model).__name__} as a model: expected a scikit-learn, LightGBM, "
        "XGBoost or ONNX model, or an object with predict(DataFrame) (pyfunc, trusted=True)"
    )
