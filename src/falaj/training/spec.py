"""The declaration of one hyperparameter search, as data (a dict or a YAML file)::

family: lightgbm                 # see falaj.training.estimators.FAMILIES
task: classification             # or regression
metric: roc_auc                  # any evaluation metric of the task
cv_folds: 3
seed: 0
device: auto                     # auto | cpu | cuda | gpu
fixed_params: {n_jobs: 1}
space:
  n_estimators: {type: int, low: 50, high: 300}
  learning_rate: {type: log, low: 0.01, high: 0.3}
budget: {max_trials: 20, wall_time_s: 120, cpu_seconds: 300}
trusted_model: false        # true to log a Pipeline holding LightGBM/XGBoost objects
use_sensitive: []           # sensitive columns allowed as features (recorded in the evidence)
exclude: []                 # further columns that are not features
parallel: {n_jobs: 2, executor: threads}     # threads | processes | ray
pruner: {n_startup_trials: 3}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from falaj.errors import preview
from falaj.training.budget import Budget
from falaj.training.errors import SearchSpaceError
from falaj.training.estimators import FAMILIES, Device, Task
from falaj.training.metrics import BINARY_METRICS, REGRESSION_METRICS
from falaj.training.space import SearchSpace

__all__ = ["EXECUTORS", "SearchSpec", "metric_direction"]

Executor = Literal["threads", "processes", "ray"]
EXECUTORS = ("threads", "processes", "ray")
_MINIMIZE = {"log_loss", "brier", "mae", "rmse", "mape"}
_KEYS = {
    "family",
    "task",
    "metric",
    "cv_folds",
    "seed",
    "device",
    "fixed_params",
    "space",
    "budget",
    "parallel",
    "pruner",
    "positive_label",
    "refit",
    "trusted_model",
    "use_sensitive",
    "exclude",
}


_CLI_KEYS = {"data", "dataset", "target", "experiment", "study_name", "model_name"}
"""Fields a YAML spec may carry for ``falaj train hpo`` (where the data is, what to name...)."""


def metric_direction(metric: str) -> Literal["minimize", "maximize"]:
    return "minimize" if metric in _MINIMIZE else "maximize"


@dataclass(frozen=True)
class SearchSpec:
    family: str
    space: SearchSpace
    budget: Budget
    task: Task = "classification"
    metric: str = "roc_auc"
    cv_folds: int = 3
    seed: int = 0
    device: Device = "auto"
    fixed_params: dict[str, Any] = field(default_factory=dict)
    n_jobs: int = 1
    executor: Executor = "threads"
    pruner_startup_trials: int = 3
    positive_label: Any = 1
    refit: bool = True
    trusted_model: bool = False
    use_sensitive: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise SearchSpaceError(
                f"search family {self.family!r} is unknown: expected one of {sorted(FAMILIES)}"
            )
        if self.task not in ("classification", "regression"):
            raise SearchSpaceError(
                f"search task {self.task!r} is unknown: expected classification or regression"
            )
        metrics = BINARY_METRICS if self.task == "classification" else REGRESSION_METRICS
        if self.metric not in metrics:
            raise SearchSpaceError(
                f"search metric {self.metric!r} does not fit task {self.task!r}: expected one of "
                f"{sorted(metrics)}"
            )
        for key, low in (("cv_folds", 2), ("n_jobs", 1), ("pruner_startup_trials", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SearchSpaceError(
                    f"search {key}={value!r} is invalid: expected an integer >= {low}"
                )
        if self.executor not in EXECUTORS:
            raise SearchSpaceError(
                f"search executor {self.executor!r} is unknown: expected one of {EXECUTORS}"
            )
        if not isinstance(self.fixed_params, dict):
            raise SearchSpaceError(
                f"search fixed_params={preview(self.fixed_params)}: expected a mapping"
            )
        overlap = sorted(set(self.fixed_params) & set(self.space.names))
        if overlap:
            raise SearchSpaceError(
                f"search parameters {overlap} are both fixed and searched: keep one"
            )

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        return metric_direction(self.metric)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpec:
        if not isinstance(data, Mapping):
            raise SearchSpaceError(f"search spec is {preview(data)}: expected a mapping")
        extra = sorted(set(data) - _KEYS - _CLI_KEYS)
        if extra:
            raise SearchSpaceError(
                f"search spec has unknown field(s) {extra}: expected {sorted(_KEYS | _CLI_KEYS)}"
            )
        for required in ("family", "space", "budget"):
            if required not in data:
                raise SearchSpaceError(f"search spec is missing the required field {required!r}")
        parallel = data.get("parallel") or {}
        pruner = data.get("pruner") or {}
        if not isinstance(parallel, Mapping) or set(parallel) - {"n_jobs", "executor"}:
            raise SearchSpaceError(
                f"search parallel={preview(parallel)}: expected {{n_jobs: int, executor: threads|"
                "processes|ray}"
            )
        if not isinstance(pruner, Mapping) or set(pruner) - {"n_startup_trials"}:
            raise SearchSpaceError(
                f"search pruner={preview(pruner)}: expected {{n_startup_trials: int}}"
            )
        return cls(
            family=str(data["family"]),
            space=SearchSpace.from_dict(data["space"]),
            budget=Budget.from_dict(
                dict(data["budget"]) if isinstance(data["budget"], Mapping) else data["budget"]
            ),
            task=data.get("task", "classification"),
            metric=str(
                data.get(
                    "metric",
                    "roc_auc" if data.get("task", "classification") == "classification" else "rmse",
                )
            ),
            cv_folds=data.get("cv_folds", 3),
            seed=data.get("seed", 0),
            device=data.get("device", "auto"),
            fixed_params=dict(data.get("fixed_params") or {}),
            n_jobs=parallel.get("n_jobs", 1),
            executor=cast(Executor, parallel.get("executor", "threads")),
            pruner_startup_trials=pruner.get("n_startup_trials", 3),
            positive_label=data.get("positive_label", 1),
            refit=bool(data.get("refit", True)),
            trusted_model=_flag(data.get("trusted_model", False), "trusted_model"),
            use_sensitive=_names(data.get("use_sensitive"), "use_sensitive"),
            exclude=_names(data.get("exclude"), "exclude"),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> tuple[SearchSpec, dict[str, Any]]:
        """The spec in a YAML file, and the whole document (dataset, target... for the CLI)."""
        from falaj.yamlsafe import load_yaml, read_yaml_file

        source = Path(path)
        label = f"search spec file {source}"
        try:
            text = read_yaml_file(source, source=label, error=SearchSpaceError)
        except FileNotFoundError:
            from falaj.errors import NotFoundError

            raise NotFoundError(f"search spec file {source} does not exist") from None
        doc = load_yaml(text, source=label, error=SearchSpaceError)
        if not isinstance(doc, dict):
            raise SearchSpaceError(f"search spec file {source} must hold a mapping")
        return cls.from_dict(doc), doc

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "task": self.task,
            "metric": self.metric,
            "cv_folds": self.cv_folds,
            "seed": self.seed,
            "device": self.device,
            "fixed_params": dict(self.fixed_params),
            "space": self.space.as_dict(),
            "budget": self.budget.as_dict(),
            "parallel": {"n_jobs": self.n_jobs, "executor": self.executor},
            "pruner": {"n_startup_trials": self.pruner_startup_trials},
            "positive_label": self.positive_label,
            "refit": self.refit,
            "trusted_model": self.trusted_model,
            "use_sensitive": list(self.use_sensitive),
            "exclude": list(self.exclude),
        }


def _flag(value: Any, name: str) -> bool:
    """A YAML/JSON boolean; a quoted "no" or 0 must not quietly become trust."""
    if not isinstance(value, bool):
        raise SearchSpaceError(f"search {name}={value!r}: expected true or false")
    return value


def _names(value: Any, name: str) -> tuple[str, ...]:
    """A list of column names (absent: none)."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise SearchSpaceError(f"search {name}={value!r}: expected a list of column names")
    return tuple(value)
