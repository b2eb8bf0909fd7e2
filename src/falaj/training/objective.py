"""One trial: draw parameters, cross-validate the pipeline, log it all as a child run.

The trial reports the running mean of its fold scores to Optuna after each fold, so the pruner
(median of earlier trials at the same fold) can stop a poor trial early; a pruned trial's run
ends ``KILLED`` with ``trial_state=PRUNED``. Each trial measures the CPU time it used and stores it
on the trial (``cpu_seconds``), which the CPU budget adds up across every worker.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from falaj.training.budget import CPU_ATTR, SKIPPED_ATTR
from falaj.training.estimators import build_pipeline
from falaj.training.metrics import BINARY_METRICS, REGRESSION_METRICS
from falaj.training.ports import TrainingWorkspace
from falaj.training.spec import SearchSpec

__all__ = ["TrialObjective", "cross_validate", "score_pipeline"]


def score_pipeline(pipe: Any, X: pd.DataFrame, y: np.ndarray[Any, Any], spec: SearchSpec) -> float:
    """``spec.metric`` of a fitted pipeline on ``(X, y)`` (y already 0/1 for classification)."""
    if spec.task == "classification":
        classes = list(pipe.classes_)
        proba = pipe.predict_proba(X)[:, classes.index(1)] if 1 in classes else np.zeros(len(X))
        return float(BINARY_METRICS[spec.metric](y.astype(np.float64), proba, 0.5))
    pred = np.asarray(pipe.predict(X), dtype=np.float64)
    return float(REGRESSION_METRICS[spec.metric](y.astype(np.float64), pred))


def cross_validate(
    spec: SearchSpec,
    params: dict[str, Any],
    X: pd.DataFrame,
    y: np.ndarray[Any, Any],
    *,
    preprocessor: Any = None,
    on_fold: Callable[[int, float, float], bool] | None = None,
) -> float:
    """Mean fold score; ``on_fold(step, score, running_mean)`` returning True stops early."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (
        StratifiedKFold(spec.cv_folds, shuffle=True, random_state=spec.seed)
        if spec.task == "classification"
        else KFold(spec.cv_folds, shuffle=True, random_state=spec.seed)
    )
    scores: list[float] = []
    for step, (train, valid) in enumerate(splitter.split(X, y)):
        pipe = build_pipeline(
            spec.family,
            spec.task,
            {**spec.fixed_params, **params},
            X,
            preprocessor=preprocessor,
            device=spec.device,
            seed=spec.seed,
        )
        pipe.fit(X.iloc[train], y[train])
        scores.append(score_pipeline(pipe, X.iloc[valid], y[valid], spec))
        if on_fold is not None and on_fold(step, scores[-1], float(np.mean(scores))):
            break
    return float(np.mean(scores))


class TrialObjective:
    """The Optuna objective of a search; picklable, so process and Ray workers can run it."""

    def __init__(
        self,
        spec: SearchSpec,
        X: pd.DataFrame,
        y: np.ndarray[Any, Any],
        *,
        experiment: str,
        study_name: str,
        parent_run_id: str,
        preprocessor: Any = None,
        threaded: bool = False,
    ) -> None:
        self.spec = spec
        self.X = X
        self.y = y
        self.experiment = experiment
        self.study_name = study_name
        self.parent_run_id = parent_run_id
        self.preprocessor = preprocessor
        self.threaded = threaded
        self.ws: TrainingWorkspace | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["ws"] = None  # a worker opens its own workspace
        return state

    def __call__(self, trial: Any) -> float:
        import optuna

        budget = self.spec.budget
        if budget.max_trials is not None and trial.number >= budget.max_trials:
            trial.set_user_attr(SKIPPED_ATTR, "max_trials")
            trial.study.stop()
            raise optuna.TrialPruned("the max_trials budget is spent; trial skipped")
        assert self.ws is not None, "the worker must attach a workspace first"
        clock = time.thread_time if self.threaded else time.process_time
        started = clock()
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        tags = {
            "falaj.kind": "hpo_trial",
            "optuna.study": self.study_name,
            "optuna.trial": str(trial.number),
        }
        with self.ws.start_run(
            self.experiment,
            run_name=f"{self.study_name}-trial-{trial.number}",
            tags=tags,
            parent_run_id=self.parent_run_id,
        ) as run:
            trial.set_user_attr("run_id", run.id)
            try:
                params = self.spec.space.suggest(trial)
                run.log_params(params)
                pruned = False

                def on_fold(step: int, score: float, mean: float) -> bool:
                    nonlocal pruned
                    run.log_metric(f"fold_{self.spec.metric}", score, step=step)
                    trial.report(mean, step)
                    pruned = bool(trial.should_prune())
                    return pruned

                value = cross_validate(
                    self.spec,
                    params,
                    self.X,
                    self.y,
                    preprocessor=self.preprocessor,
                    on_fold=on_fold,
                )
            finally:
                cpu = clock() - started
                trial.set_user_attr(CPU_ATTR, cpu)
                run.log_metric("cpu_seconds", cpu)
            if pruned:
                run.set_tag("trial_state", "PRUNED")
                run.log_metric(f"partial_{self.spec.metric}", value)
                run.end("KILLED")
                raise optuna.TrialPruned(f"pruned at {self.spec.metric}={value:.4f}")
            run.log_metric(self.spec.metric, value)
            run.set_tag("trial_state", "COMPLETE")
        return value
