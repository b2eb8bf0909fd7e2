"""Training benchmark: Falaj against the libraries it builds on, same process, same data.

Workloads:

1. bootstrap intervals of the 8 classification metrics (1,000 rows, 200 resamples): Falaj's
   vectorized numpy metrics against a loop of scikit-learn metric calls per resample;
2. per-group bootstrap intervals of a fairness audit (1,000 rows, 2 features, 100 resamples):
   Falaj (fairlearn point values + vectorized resampling) against fairlearn's own
   ``MetricFrame(n_boot=...)``;
3. a 20-trial hyperparameter search (logistic regression, 2-fold CV): plain Optuna with
   in-memory storage and no tracking, against Falaj (study in the workspace's SQLite database,
   every trial a tracked child run) — the price of durable, shared, audited trials.

Run: ``python -m benchmarks.training``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_ROWS = 1_000
N_BOOT = 200
N_BOOT_FAIR = 100
N_TRIALS = 20


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _scores() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, N_ROWS)
    return y, np.clip(0.3 * y + rng.normal(0.35, 0.2, N_ROWS), 0, 1)


def bench_bootstrap() -> tuple[float, float]:
    from sklearn import metrics as skm

    from falaj.training.evaluation import bootstrap_indices, evaluate_classification

    y, s = _scores()

    def sklearn_loop() -> None:
        for idx in bootstrap_indices(N_ROWS, N_BOOT, 0):
            yb, sb = y[idx], s[idx]
            pred = sb >= 0.5
            skm.accuracy_score(yb, pred)
            skm.precision_score(yb, pred)
            skm.recall_score(yb, pred)
            skm.f1_score(yb, pred)
            skm.roc_auc_score(yb, sb)
            skm.average_precision_score(yb, sb)
            skm.log_loss(yb, sb)
            skm.brier_score_loss(yb, sb)

    falaj = _timed(lambda: evaluate_classification(y, s, n_bootstrap=N_BOOT))
    return falaj, _timed(sklearn_loop)


def bench_fairness() -> tuple[float, float]:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    from falaj.training.fairness import audit_fairness

    y, s = _scores()
    pred = (s >= 0.5).astype(int)
    rng = np.random.default_rng(1)
    sf = pd.DataFrame(
        {"sex": rng.choice(["f", "m"], N_ROWS), "age": rng.choice(["y", "o"], N_ROWS)}
    )

    def fairlearn_boot() -> None:
        for column in sf.columns:
            MetricFrame(
                metrics={
                    "count": count,
                    "selection_rate": selection_rate,
                    "tpr": true_positive_rate,
                    "fpr": false_positive_rate,
                    "accuracy": accuracy_score,
                },
                y_true=y,
                y_pred=pred,
                sensitive_features=sf[column],
                n_boot=N_BOOT_FAIR,
                ci_quantiles=[0.025, 0.975],
                random_state=0,
            )

    falaj = _timed(lambda: audit_fairness(y, pred, sf, min_group_size=30, n_bootstrap=N_BOOT_FAIR))
    return falaj, _timed(fairlearn_boot)


def bench_search(root: Path) -> tuple[float, float, float]:
    import optuna

    from falaj.training.hpo import run_search
    from falaj.training.objective import cross_validate
    from falaj.training.spec import SearchSpec
    from falaj.workspace import Workspace

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] + rng.normal(0, 0.5, 300) > 0).astype(int)
    spec = SearchSpec.from_dict(
        {
            "family": "sklearn.logistic_regression",
            "cv_folds": 2,
            "refit": False,
            "space": {"C": {"type": "log", "low": 0.01, "high": 10.0}},
            "budget": {"max_trials": N_TRIALS},
        }
    )
    target = y.to_numpy()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def plain(storage: Any = None) -> None:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=0), storage=storage
        )
        study.optimize(
            lambda t: cross_validate(spec, spec.space.suggest(t), X, target), n_trials=N_TRIALS
        )

    with Workspace.init(root / "ws") as ws:
        warm = SearchSpec.from_dict({**spec.as_dict(), "budget": {"max_trials": 1}})
        run_search(ws, warm, X, y, experiment="warm-up")  # imports and table creation, untimed
        falaj = _timed(lambda: run_search(ws, spec, X, y, experiment="bench"))
    rdb = f"sqlite:///{root / 'optuna-only.db'}"
    optuna.create_study(storage=rdb, study_name="warm-up")
    with_storage = _timed(lambda: plain(rdb))
    return falaj, _timed(plain), with_storage


def main() -> None:
    warnings.filterwarnings("ignore")
    rows = [
        (f"bootstrap 8 metrics x {N_BOOT}", "scikit-learn loop", *bench_bootstrap()),
        (f"fairness group CIs x {N_BOOT_FAIR}", "fairlearn MetricFrame", *bench_fairness()),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        falaj, memory, sqlite = bench_search(Path(tmp))
    rows.append((f"search {N_TRIALS} trials", "Optuna in-memory, untracked", falaj, memory))
    rows.append((f"search {N_TRIALS} trials", "Optuna SQLite storage, untracked", falaj, sqlite))
    print(f"{'workload':<32} {'peer':<34} {'falaj s':>9} {'peer s':>9} {'peer/falaj':>10}")
    for name, peer, falaj, other in rows:
        print(f"{name:<32} {peer:<34} {falaj:>9.3f} {other:>9.3f} {other / falaj:>10.2f}")


if __name__ == "__main__":
    main()
