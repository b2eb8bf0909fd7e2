"""Model families the search can tune, inside a preprocessing Pipeline, on CPU or GPU.

A family names a scikit-learn, LightGBM or XGBoost estimator for a task::

    sklearn.logistic_regression   sklearn.random_forest   sklearn.gradient_boosting
    sklearn.hist_gradient_boosting   lightgbm   xgboost   (linear: sklearn.ridge for regression)

GPU: XGBoost trains with ``device="cuda"`` when ``device="auto"`` (the default), XGBoost was
built with CUDA and a CUDA device is visible (asked of the CUDA driver, so
``CUDA_VISIBLE_DEVICES`` is honoured); otherwise on the CPU. LightGBM's GPU build is optional
and needs OpenCL, so it uses the GPU only when asked explicitly (``device="gpu"``); the
scikit-learn estimators always run on the CPU.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from falaj.training.errors import UnknownEstimatorError

__all__ = [
    "FAMILIES",
    "Family",
    "build_pipeline",
    "check_params",
    "cuda_device_count",
    "default_preprocessor",
    "resolve_device",
]

Task = Literal["classification", "regression"]
Device = Literal["auto", "cpu", "cuda", "gpu"]


@dataclass(frozen=True)
class Family:
    name: str
    classifier: str | None
    regressor: str | None
    linear: bool = False
    gpu: Literal["xgboost", "lightgbm", None] = None

    def estimator_path(self, task: Task) -> str:
        path = self.classifier if task == "classification" else self.regressor
        if path is None:
            raise UnknownEstimatorError(f"model family {self.name!r} has no {task} estimator")
        return path


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "sklearn.logistic_regression",
            "sklearn.linear_model:LogisticRegression",
            None,
            linear=True,
        ),
        Family("sklearn.ridge", None, "sklearn.linear_model:Ridge", linear=True),
        Family(
            "sklearn.random_forest",
            "sklearn.ensemble:RandomForestClassifier",
            "sklearn.ensemble:RandomForestRegressor",
        ),
        Family(
            "sklearn.gradient_boosting",
            "sklearn.ensemble:GradientBoostingClassifier",
            "sklearn.ensemble:GradientBoostingRegressor",
        ),
        Family(
            "sklearn.hist_gradient_boosting",
            "sklearn.ensemble:HistGradientBoostingClassifier",
            "sklearn.ensemble:HistGradientBoostingRegressor",
        ),
        Family("lightgbm", "lightgbm:LGBMClassifier", "lightgbm:LGBMRegressor", gpu="lightgbm"),
        Family("xgboost", "xgboost:XGBClassifier", "xgboost:XGBRegressor", gpu="xgboost"),
    )
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise UnknownEstimatorError(
            f"model family {name!r} is unknown: expected one of {sorted(FAMILIES)}"
        ) from None


@functools.cache
def cuda_device_count() -> int:
    """CUDA devices visible to this process, asked of the driver (0 when there is none)."""
    for lib in ("libcuda.so.1", "libcuda.so"):
        try:
            cuda = ctypes.CDLL(lib)
        except OSError:
            continue
        count = ctypes.c_int(0)
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return int(count.value)
    return 0


def _xgboost_has_cuda() -> bool:
    import xgboost

    return bool(xgboost.build_info().get("USE_CUDA", False))


def resolve_device(fam: Family, device: Device) -> dict[str, Any]:
    """Estimator keyword arguments that place training on the device ``device`` resolves to."""
    if device not in ("auto", "cpu", "cuda", "gpu"):
        raise UnknownEstimatorError(
            f"device {device!r} is unknown: expected 'auto', 'cpu', 'cuda' or 'gpu'"
        )
    if fam.gpu == "xgboost":
        wants = device in ("cuda", "gpu") or (
            device == "auto" and cuda_device_count() > 0 and _xgboost_has_cuda()
        )
        return {"device": "cuda" if wants else "cpu"}
    if fam.gpu == "lightgbm":
        return {"device_type": "gpu"} if device in ("cuda", "gpu") else {}
    if device in ("cuda", "gpu"):
        raise UnknownEstimatorError(f"model family {fam.name!r} cannot train on a GPU")
    return {}


def default_preprocessor(X: pd.DataFrame, *, scale_numeric: bool = False) -> Any:
    """A ColumnTransformer: one-hot for text/categorical columns, numeric ones passed through
    (standardized for linear models); missing values imputed."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    num_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if scale_numeric:
        num_steps.append(("scale", StandardScaler()))
    return ColumnTransformer(
        [
            ("num", Pipeline(num_steps), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
                    ]
                ),
                categorical,
            ),
        ],
        verbose_feature_names_out=True,
    )


def check_params(family_name: str, task: Task, names: Iterable[str]) -> None:
    """Refuse parameter names a scikit-learn estimator does not take, before any trial runs.

    LightGBM and XGBoost pass unknown keyword arguments on to their native libraries, so their
    names are left to them.
    """
    import importlib

    fam = family(family_name)
    if fam.gpu is not None:
        return
    module_name, _, cls_name = fam.estimator_path(task).partition(":")
    accepted = set(getattr(importlib.import_module(module_name), cls_name)().get_params())
    unknown = sorted(set(names) - accepted)
    if unknown:
        raise UnknownEstimatorError(
            f"parameters {unknown} are not parameters of {cls_name} (family {family_name!r}): "
            f"expected some of {sorted(accepted)}"
        )


def build_pipeline(
    family_name: str,
    task: Task,
    params: dict[str, Any],
    X: pd.DataFrame,
    *,
    preprocessor: Any = None,
    device: Device = "auto",
    seed: int | None = 0,
) -> Any:
    """An unfitted ``Pipeline([("preprocess", ...), ("model", estimator)])``."""
    import importlib

    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    fam = family(family_name)
    module_name, _, cls_name = fam.estimator_path(task).partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    kwargs = {**resolve_device(fam, device), **params}
    if seed is not None and "random_state" in cls().get_params() and "random_state" not in kwargs:
        kwargs["random_state"] = seed
    if fam.gpu == "lightgbm":
        kwargs.setdefault("verbosity", -1)
    try:
        estimator = cls(**kwargs)
    except TypeError as exc:
        raise UnknownEstimatorError(
            f"parameters {sorted(kwargs)} do not fit {cls_name}: {exc}"
        ) from exc
    pre = (
        clone(preprocessor)
        if preprocessor is not None
        else default_preprocessor(X, scale_numeric=fam.linear)
    )
    return Pipeline([("preprocess", pre), ("model", estimator)])
