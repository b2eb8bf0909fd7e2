"""The model lifecycle as a pipeline: ingest → validate → train → evaluate → register.

Used by the demo and usable as a template: each step is a plain function, the data flows through
the artifact store, the training run is tracked (``ctx.start_run``) and the model version is
registered, and every link (dataset version → steps → run → model version) lands in lineage.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from falaj.pipelines.context import StepContext
from falaj.pipelines.graph import pipeline
from falaj.pipelines.step import step

__all__ = ["FEATURES", "TARGET", "credit_lifecycle"]

TARGET = "risk"
FEATURES = ["job", "credit_amount", "duration", "age"]
CATEGORICAL = ["sex", "housing", "saving_accounts", "checking_account", "purpose"]


@step(outputs=("frame", "dataset_version"))
def ingest(
    ctx: StepContext, dataset: str, csv_path: str = "", source_digest: str = ""
) -> tuple[pd.DataFrame, str]:
    """The dataset version ``dataset`` (``name`` for the latest, or ``name@3``); registered from
    ``csv_path`` when the dataset does not exist yet.

    ``source_digest`` (the raw file's sha256) is part of the cache key: new data, new run. Read
    by name, the version ``dataset`` resolves to when the step runs is part of it too.
    """
    from falaj.errors import NotFoundError

    name, _, number = dataset.partition("@")
    try:
        ctx.ws.datasets.get(name, int(number) if number else None)
    except NotFoundError:
        if not csv_path or number:
            raise
        registered = ctx.ws.datasets.register(
            name, pd.read_csv(csv_path), description="German credit applicants"
        )
        print(f"registered {registered.id} from {csv_path}")
    if source_digest:
        ctx.used("artifact", source_digest)
    version = ctx.dataset(dataset)
    frame = ctx.ws.datasets.load(version.name, version.version)
    print(f"ingested {version.id}: {len(frame)} rows, {len(frame.columns)} columns")
    return frame, version.id


@step
def validate(frame: pd.DataFrame, min_rows: int = 100) -> pd.DataFrame:
    """Refuse data the model cannot learn from: missing columns, nulls, bad target values."""
    missing = [c for c in [TARGET, *FEATURES] if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are missing (have {list(frame.columns)})")
    if len(frame) < min_rows:
        raise ValueError(f"only {len(frame)} rows; at least {min_rows} are needed")
    nulls = {c: int(n) for c, n in frame[[TARGET, *FEATURES]].isna().sum().items() if n}
    if nulls:
        raise ValueError(f"null values in {nulls}")
    labels = set(frame[TARGET].unique().tolist())
    if not labels <= {0, 1}:
        raise ValueError(f"target {TARGET!r} has values {sorted(labels)}; expected 0/1")
    print(f"validated {len(frame)} rows: target rate {frame[TARGET].mean():.3f}")
    return frame


def _split(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=frame[TARGET])
    return train, test


@step(outputs=("model", "training"))
def train(
    ctx: StepContext, frame: pd.DataFrame, dataset_version: str, seed: int = 7, c: float = 1.0
) -> tuple[Any, dict[str, Any]]:
    """Fit a scaled logistic regression on the training split; the run is tracked."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fit_on, _ = _split(frame, seed)
    x = fit_on[FEATURES].astype("float64")
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    model.fit(x, fit_on[TARGET])
    with ctx.start_run(
        "credit-risk-pipeline", run_name=f"pipeline-{ctx.pipeline_run_id[:8]}"
    ) as run:
        run.log_params({"model": "logistic_regression", "C": c, "seed": seed})
        run.log_dataset(dataset_version, context="training")
        logged = run.log_model(model, "model", input_example=x.head(5))
    print(f"trained on {len(fit_on)} rows; run {run.id}")
    return model, {"run_id": run.id, "model_uri": logged.uri}


@step
def evaluate(
    model: Any, frame: pd.DataFrame, training: dict[str, Any], seed: int = 7
) -> dict[str, Any]:
    """Held-out ROC AUC and accuracy of the trained model."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    _, test = _split(frame, seed)
    x = test[FEATURES].astype("float64")
    proba = model.predict_proba(x)[:, 1]
    metrics = {
        "roc_auc": float(roc_auc_score(test[TARGET], proba)),
        "accuracy": float(accuracy_score(test[TARGET], (proba >= 0.5).astype(int))),
        "rows": len(test),
    }
    print(f"held-out metrics: {metrics}")
    return {"metrics": metrics, **training}


@step
def register(ctx: StepContext, evaluation: dict[str, Any], model_name: str) -> dict[str, Any]:
    """Register the model version, with its held-out metrics as evaluation evidence."""
    ws = ctx.ws
    mv = ws.registry.create_version(
        model_name,
        evaluation["model_uri"],
        description="Trained by the credit lifecycle pipeline",
        tags={"pipeline_run": ctx.pipeline_run_id},
    )
    ws.registry.attach_evidence(
        model_name, mv.version, "evaluation", summary={"metrics": evaluation["metrics"]}
    )
    ctx.produced("model_version", f"{mv.name}/{mv.version}")
    print(f"registered {mv.name} v{mv.version}")
    return {"name": mv.name, "version": mv.version, "run_id": evaluation["run_id"]}


@pipeline
def credit_lifecycle(
    dataset: str = "german-credit",
    csv_path: str = "",
    source_digest: str = "",
    model_name: str = "credit-risk-pipeline",
    seed: int = 7,
) -> None:
    """ingest → validate → train → evaluate → register."""
    frame, version = ingest(dataset=dataset, csv_path=csv_path, source_digest=source_digest)
    checked = validate(frame)
    model, training = train(checked, version, seed=seed)
    evaluation = evaluate(model, checked, training, seed=seed)
    register(evaluation, model_name=model_name)
