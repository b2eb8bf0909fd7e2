"""A training pipeline for the retraining trigger's tests: reads ``customers`` by name (the
latest version when it runs), trains, registers ``churn`` and records what it produced."""

from __future__ import annotations

from typing import Any

from falaj.pipelines.context import StepContext
from falaj.pipelines.graph import pipeline
from falaj.pipelines.step import step

FEATURES = ["tenure", "spend", "visits", "age"]


@step
def train_and_register(ctx: StepContext, dataset: str, model_name: str) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    version = ctx.dataset(dataset)
    data = ctx.ws.datasets.load(version.name, version.version)
    model = LogisticRegression().fit(data[FEATURES], data["churned"])
    with ctx.start_run("churn-retrain") as run:
        run.log_dataset(version.id)
        logged = run.log_model(model, "model", input_example=data[FEATURES].head(5))
    mv = ctx.ws.registry.create_version(model_name, logged)
    ctx.produced("model_version", f"{mv.name}/{mv.version}")
    return {"name": mv.name, "version": mv.version}


@pipeline
def churn_training(dataset: str = "customers", model_name: str = "churn") -> None:
    train_and_register(dataset=dataset, model_name=model_name)
