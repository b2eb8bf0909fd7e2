"""Hyperparameter search: Optuna (TPE + median pruning) with budgets, trials as child runs.

:func:`run_search` creates (or resumes) a study in the workspace's metadata database, opens a
parent run for the search, and runs trials — each a child run of the parent — on threads in this
process, on worker processes, or as Ray tasks; every worker reads and writes the one shared
study. It stops when the :class:`~falaj.training.budget.Budget` is spent, records why
(``stop_reason`` on the study and as a tag of the parent run), refits the best parameters on all
the data and logs the fitted pipeline as the parent run's ``model``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from falaj.errors import BackendUnavailableError, FalajError
from falaj.store.schema import new_id
from falaj.training.budget import (
    STARTED_ATTR,
    STOP_ATTR,
    BudgetCallback,
    record_stop,
    study_counts,
)
from falaj.training.errors import EvaluationInputError, TrialError
from falaj.training.estimators import build_pipeline, check_params
from falaj.training.objective import TrialObjective
from falaj.training.ports import TrainingWorkspace, WorkspaceOpener
from falaj.training.spec import SearchSpec
from falaj.training.studies import load_study, study_storage

__all__ = ["SearchResult", "encode_target", "run_search", "run_worker"]

_POLL_S = 0.5


@dataclass(frozen=True)
class SearchResult:
    study_name: str
    parent_run_id: str
    metric: str
    direction: str
    best_value: float
    best_params: dict[str, Any]
    best_trial: int
    best_run_id: str
    stop_reason: str
    trials: dict[str, int]
    cpu_seconds: float
    model: Any = None
    estimator: Any = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "study_name": self.study_name,
            "parent_run_id": self.parent_run_id,
            "metric": self.metric,
            "direction": self.direction,
            "best_value": self.best_value,
            "best_params": self.best_params,
            "best_trial": self.best_trial,
            "best_run_id": self.best_run_id,
            "stop_reason": self.stop_reason,
            "trials": self.trials,
            "cpu_seconds": self.cpu_seconds,
            "model_uri": getattr(self.model, "uri", None),
        }


def encode_target(y: Any, spec: SearchSpec) -> np.ndarray[Any, Any]:
    """The target as a 1-D array; for classification 1 for ``positive_label``, else 0."""
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if arr.ndim != 1:
        raise EvaluationInputError(f"y has shape {arr.shape}: expected one target per row")
    missing = int(pd.isna(pd.Series(arr)).sum())
    if missing:
        raise EvaluationInputError(f"y has {missing} missing label(s): expected a label per row")
    if spec.task == "regression":
        return arr.astype(np.float64)
    classes = set(pd.unique(pd.Series(arr)).tolist())
    if len(classes) != 2 or spec.positive_label not in classes:
        raise EvaluationInputError(
            f"y holds classes {sorted(map(str, classes))[:5]}: expected two classes, one of them "
            f"positive_label={spec.positive_label!r}"
        )
    encoded: np.ndarray[Any, Any] = (arr == spec.positive_label).astype(np.int64)
    return encoded


def _make_sampler_pruner(spec: SearchSpec, worker: int = 0) -> tuple[Any, Any]:
    import optuna

    sampler = optuna.samplers.TPESampler(
        seed=spec.seed + worker, n_startup_trials=max(spec.pruner_startup_trials, 3)
    )
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=spec.pruner_startup_trials, n_warmup_steps=0
    )
    return sampler, pruner


def run_search(
    ws: TrainingWorkspace,
    spec: SearchSpec,
    X: pd.DataFrame,
    y: Any,
    *,
    experiment: str,
    study_name: str | None = None,
    preprocessor: Any = None,
    opener: WorkspaceOpener | None = None,
    dataset_version_id: str | None = None,
    progress: Any = None,
    classifications: Mapping[str, Any] | None = None,
) -> SearchResult:
    """Run the search described by ``spec`` on ``(X, y)``; see the module docstring.

    ``opener`` opens the same workspace in another process (needed for the ``processes`` and
    ``ray`` executors). ``progress(n_finished, best_value)`` is called after each trial.
    ``classifications`` (``{column: [labels]}``, a dataset version's) decide which columns may
    be features (:mod:`falaj.training.columns`).
    """
    from falaj.training.columns import select_features
    from falaj.training.provenance import record_training_rows

    if not isinstance(X, pd.DataFrame) or X.empty:
        raise EvaluationInputError("X must be a non-empty pandas DataFrame of input columns")
    X, selection = select_features(
        X, classifications, use_sensitive=spec.use_sensitive, exclude=spec.exclude
    )
    check_params(spec.family, spec.task, [*spec.space.names, *spec.fixed_params])
    target = encode_target(y, spec)
    if target.shape[0] != len(X):
        raise EvaluationInputError(f"y has {target.shape[0]} rows: expected {len(X)} (X's rows)")
    if spec.executor != "threads" and spec.n_jobs > 1 and opener is None:
        raise EvaluationInputError(
            f"executor {spec.executor!r} needs a workspace opener for its workers"
        )
    name = study_name or f"{experiment}-{new_id()[:8]}"
    with study_storage(ws.settings.metadata_dsn) as storage:
        study = _open_study(storage, name, spec)
        tags = {"falaj.kind": "hpo", "optuna.study": name, "family": spec.family}
        with ws.start_run(experiment, run_name=name, tags=tags) as parent:
            if dataset_version_id is not None:
                parent.log_dataset(dataset_version_id, context="training")
            parent.log_params(
                {**_setup_params(spec), "train_rows": len(X), **selection.run_params()}
            )
            record_training_rows(ws, parent, X)
            study.set_user_attr("parent_run_id", parent.id)
            objective = TrialObjective(
                spec, X, target, experiment=experiment, study_name=name,
                parent_run_id=parent.id, preprocessor=preprocessor,
                threaded=spec.executor == "threads" and spec.n_jobs > 1,
            )  # fmt: skip
            budget = BudgetCallback(spec.budget)
            callbacks: list[Any] = [budget]
            if progress is not None:
                callbacks.append(lambda s, t: progress(study_counts(s).finished, _best_or_none(s)))
            if spec.executor == "threads" or spec.n_jobs == 1:
                objective.ws = ws
                study.optimize(
                    objective, n_jobs=spec.n_jobs, timeout=spec.budget.wall_time_s,
                    callbacks=callbacks, catch=(Exception,), gc_after_trial=False,
                )  # fmt: skip
            else:
                assert opener is not None
                task = WorkerTask(opener, ws.settings.metadata_dsn, name, objective)
                poll = (
                    None
                    if progress is None
                    else (lambda: progress(study_counts(study).finished, _best_or_none(study)))
                )
                _run_workers(task, spec.n_jobs, spec.executor, ws.settings.ray_address, poll)
            reason = study.user_attrs.get(STOP_ATTR) or budget.exhausted(study) or "wall_time"
            record_stop(study, reason)
            labels = _refit_labels(y, target, spec)
            return _conclude(parent, study, spec, reason, X, labels, preprocessor)


def _refit_labels(y: Any, target: np.ndarray[Any, Any], spec: SearchSpec) -> np.ndarray[Any, Any]:
    """The labels the refit model learns: the original classes ('no'/'yes' stay 'no'/'yes'),
    so it predicts them and can be evaluated on the same target column.

    Trials cross-validate on the 0/1 encoding (1 = ``positive_label``). XGBoost only accepts
    classes 0..n-1, so its refit keeps that encoding (``positive_label`` is recorded on the run).
    """
    if spec.task != "classification" or spec.family == "xgboost":
        return target
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    return np.asarray(pd.Series(arr).tolist(), dtype=object if arr.dtype == object else arr.dtype)


def _open_study(storage: Any, name: str, spec: SearchSpec) -> Any:
    import optuna

    sampler, pruner = _make_sampler_pruner(spec)
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner,
            direction=spec.direction, load_if_exists=True,
        )  # fmt: skip
    except ValueError as exc:  # a resumed study with another direction
        raise EvaluationInputError(f"study {name!r} cannot be resumed: {exc}") from exc
    study.set_user_attr(STARTED_ATTR, time.time())
    study.set_user_attr(STOP_ATTR, None)
    study.set_user_attr("spec", spec.as_dict())
    return study


def _setup_params(spec: SearchSpec) -> dict[str, Any]:
    return {
        "family": spec.family,
        "metric": spec.metric,
        "direction": spec.direction,
        "cv_folds": spec.cv_folds,
        "executor": spec.executor,
        "n_jobs": spec.n_jobs,
        **{f"budget.{k}": v for k, v in spec.budget.as_dict().items() if v is not None},
        **{f"fixed.{k}": v for k, v in spec.fixed_params.items()},
        **({"positive_label": str(spec.positive_label)} if spec.task == "classification" else {}),
    }


def _conclude(
    parent: Any,
    study: Any,
    spec: SearchSpec,
    reason: str,
    X: pd.DataFrame,
    target: np.ndarray[Any, Any],
    preprocessor: Any,
) -> SearchResult:
    """Record the outcome on the parent run, refit and log the best model."""
    counts = study_counts(study)
    trials = study.get_trials(deepcopy=False)
    parent.set_tags(
        {"stop_reason": reason, **{f"trials.{k}": str(v) for k, v in counts.by_state.items()}}
    )
    parent.log_metrics({"cpu_seconds": counts.cpu_seconds, "n_trials": float(counts.ran)})
    if not any(t.state.name == "COMPLETE" for t in trials):
        failed = [t for t in trials if t.state.name == "FAIL"]
        hint = failed[0].system_attrs.get("fail_reason", "") if failed else ""
        raise TrialError(
            f"search {study.study_name!r} stopped ({reason}) with no completed trial; "
            f"{counts.by_state} {hint}".strip()
        )
    best = study.best_trial
    best_run = str(best.user_attrs.get("run_id", ""))
    parent.log_metric(f"best_{spec.metric}", float(best.value))
    parent.set_tags({"best_trial": str(best.number), "best_run_id": best_run})
    parent.log_params({f"best.{k}": v for k, v in best.params.items()})
    estimator, logged = None, None
    if spec.refit:
        estimator = build_pipeline(
            spec.family, spec.task, {**spec.fixed_params, **best.params}, X,
            preprocessor=preprocessor, device=spec.device, seed=spec.seed,
        )  # fmt: skip
        estimator.fit(X, target)
        logged = _log_model(parent, estimator, X, spec)
    return SearchResult(
        study_name=study.study_name,
        parent_run_id=parent.id,
        metric=spec.metric,
        direction=spec.direction,
        best_value=float(best.value),
        best_params=dict(best.params),
        best_trial=int(best.number),
        best_run_id=best_run,
        stop_reason=reason,
        trials=counts.by_state,
        cpu_seconds=counts.cpu_seconds,
        model=logged,
        estimator=estimator,
    )


def _log_model(parent: Any, estimator: Any, X: pd.DataFrame, spec: SearchSpec) -> Any:
    from falaj.tracking.errors import UntrustedModelError

    try:
        return parent.log_model(
            estimator, "model", input_example=X.head(5), trusted=spec.trusted_model
        )
    except UntrustedModelError as exc:
        raise UntrustedModelError(
            f"{exc}. For a {spec.family} search, set trusted_model: true in the search spec "
            "if you trust these types"
        ) from exc


def _best_or_none(study: Any) -> float | None:
    try:
        return float(study.best_value)
    except ValueError:
        return None


@dataclass(frozen=True)
class WorkerTask:
    """What a worker process or Ray task needs to join a study (all picklable)."""

    opener: WorkspaceOpener
    metadata_url: str
    study_name: str
    objective: TrialObjective


def run_worker(task: WorkerTask, worker: int) -> int:
    """Join the study and run trials until its budget is spent; returns the trials run here."""
    spec = task.objective.spec
    sampler, pruner = _make_sampler_pruner(spec, worker)
    with study_storage(task.metadata_url) as storage:
        study = load_study(storage, task.study_name, sampler=sampler, pruner=pruner)
        before = len(study.get_trials(deepcopy=False))
        ws = task.opener()
        try:
            task.objective.ws = ws
            task.objective.threaded = False
            study.optimize(
                task.objective, timeout=spec.budget.wall_time_s,
                callbacks=[BudgetCallback(spec.budget)], catch=(Exception,), gc_after_trial=False,
            )  # fmt: skip
        finally:
            ws.close()
        return len(study.get_trials(deepcopy=False)) - before


def _run_workers(
    task: WorkerTask,
    n_jobs: int,
    executor: str,
    ray_address: str | None,
    poll: Callable[[], None] | None = None,
) -> None:
    """Run ``n_jobs`` workers to the end; ``poll()`` every half second meanwhile (progress)."""
    if executor == "processes":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, wait

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx) as pool:
            futures = [pool.submit(run_worker, task, i) for i in range(n_jobs)]
            while wait(futures, timeout=_POLL_S).not_done:
                if poll is not None:
                    poll()
            for f in futures:
                try:
                    f.result()
                except FalajError:
                    raise
                except Exception as exc:  # a worker died or could not join the study
                    raise TrialError(f"a search worker process failed: {exc}") from exc
        return
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError("the ray executor needs: pip install 'falaj[ray]'") from exc
    if not ray.is_initialized():
        try:
            ray.init(address=ray_address, ignore_reinit_error=True, log_to_driver=False)
        except Exception as exc:
            raise BackendUnavailableError(
                f"cannot reach the Ray cluster at {ray_address or 'local'}: {exc}"
            ) from exc
    remote = ray.remote(num_cpus=1)(run_worker)
    try:
        refs = [remote.remote(task, i) for i in range(n_jobs)]
        pending = list(refs)
        while pending:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL_S)
            if poll is not None:
                poll()
        ray.get(refs)
    except ray.exceptions.RayError as exc:
        raise TrialError(f"a search worker on Ray failed: {exc}") from exc
