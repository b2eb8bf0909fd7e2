"""Importing a real MLflow store (created here with MLflow itself, SQLite backend)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from falaj.errors import BackendUnavailableError
from falaj.interop.mlflow import import_mlflow
from falaj.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore")


@dataclass(frozen=True)
class MlflowStore:
    uri: str
    parent_id: str
    child_id: str
    failed_id: str


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowStore]:
    import mlflow
    import xgboost as xgb
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    warnings.filterwarnings("ignore")
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        exp = mlflow.create_experiment("credit scoring", artifact_location=(root / "art").as_uri())
        rng = np.random.default_rng(0)
        x = pd.DataFrame({"income": rng.normal(size=60), "age": rng.normal(size=60)})
        y = (x.income > 0).astype(int)
        notes = root / "notes.txt"
        notes.write_text("feature notes", encoding="utf-8")
        with mlflow.start_run(experiment_id=exp, run_name="parent") as parent:
            mlflow.log_params({"C": 0.5, "penalty": "l2"})
            for step in range(5):
                mlflow.log_metric("auc", 0.70 + step / 100, step=step)
            mlflow.set_tag("team", "risk")
            mlflow.log_artifact(str(notes), artifact_path="docs")
            mlflow.sklearn.log_model(
                LogisticRegression().fit(x, y),
                name="model",
                input_example=x.head(3),
                registered_model_name="credit-model",
                serialization_format="cloudpickle",
            )
            with mlflow.start_run(experiment_id=exp, run_name="trial", nested=True) as child:
                mlflow.log_metric("auc", 0.61)
        with mlflow.start_run(experiment_id=exp, run_name="xgb") as xrun:
            mlflow.xgboost.log_model(
                xgb.XGBClassifier(n_estimators=3).fit(x, y),
                name="model",
                input_example=x.head(3),
                registered_model_name="credit-model",
            )
        client = MlflowClient(uri)
        client.set_terminated(xrun.info.run_id, "FAILED")
        client.update_registered_model("credit-model", description="Credit default risk")
        client.set_registered_model_alias("credit-model", "champion", "2")
        client.set_registered_model_alias("credit-model", "legacy", "1")
        yield MlflowStore(uri, parent.info.run_id, child.info.run_id, xrun.info.run_id)
    finally:
        mlflow.set_tracking_uri(previous)


def _by_source(ws: Workspace) -> dict[str, str]:
    return ws.tracking.find_imported("mlflow.run_id")


def test_runs_come_with_params_metric_history_tags_and_artifacts(
    ws: Workspace, mlflow_store: MlflowStore
) -> None:
    report = import_mlflow(ws, mlflow_store.uri)
    assert report.runs_imported == 3
    ids = _by_source(ws)
    parent = ws.tracking.get_run(ids[mlflow_store.parent_id])
    assert parent.experiment == "credit scoring"
    assert parent.name == "parent"
    assert parent.status == "FINISHED"
    assert parent.params == {"C": "0.5", "penalty": "l2"}
    assert parent.tags["team"] == "risk"
    history = ws.tracking.metric_history(parent.id, "auc")
    assert [(p.step, round(p.value, 2)) for p in history] == [
        (0, 0.70),
        (1, 0.71),
        (2, 0.72),
        (3, 0.73),
        (4, 0.74),
    ]
    names = {a.name: a.digest for a in parent.artifacts}
    assert ws.artifacts.get_bytes(names["docs/notes.txt"]) == b"feature notes"


def test_child_runs_keep_their_parent_and_status_is_kept(
    ws: Workspace, mlflow_store: MlflowStore
) -> None:
    import_mlflow(ws, mlflow_store.uri)
    ids = _by_source(ws)
    child = ws.tracking.get_run(ids[mlflow_store.child_id])
    assert child.parent_id == ids[mlflow_store.parent_id]
    assert ws.tracking.get_run(ids[mlflow_store.failed_id]).status == "FAILED"


def test_importing_twice_duplicates_nothing(ws: Workspace, mlflow_store: MlflowStore) -> None:
    import_mlflow(ws, mlflow_store.uri, trust_pickles=True)
    again = import_mlflow(ws, mlflow_store.uri, trust_pickles=True)
    assert again.runs_imported == 0
    assert again.runs_already_present == 3
    assert again.versions_imported == 0
    assert again.versions_already_present == 2
    assert len(ws.tracking.search_runs("").runs) == 3
    assert len(ws.registry.list_versions("credit-model")) == 2


def test_native_model_is_imported_and_pickled_one_needs_trust(
    ws: Workspace, mlflow_store: MlflowStore
) -> None:
    report = import_mlflow(ws, mlflow_store.uri)
    assert report.versions_imported == 1  # the XGBoost version: a native file, no code to run
    assert any("is a pickle" in line and "version 1" in line for line in report.skipped)
    (version,) = ws.registry.list_versions("credit-model")
    assert version.flavor == "xgboost"
    assert version.tags["mlflow.version"] == "2"


def test_trusted_import_converts_pickles_and_maps_aliases(
    ws: Workspace, mlflow_store: MlflowStore
) -> None:
    report = import_mlflow(ws, mlflow_store.uri, trust_pickles=True)
    assert report.versions_imported == 2
    by_mlflow = {v.tags["mlflow.version"]: v for v in ws.registry.list_versions("credit-model")}
    assert by_mlflow["1"].flavor == "sklearn"  # re-saved with skops: safe to load from now on
    assert ws.registry.get_model("credit-model").description == "Credit default risk"
    aliases = ws.registry.aliases("credit-model")
    assert aliases == {"champion": by_mlflow["2"].version, "legacy": by_mlflow["1"].version}
    model = ws.registry.load_model("credit-model", "champion")
    frame = pd.DataFrame({"income": [1.0, -1.0], "age": [0.0, 0.0]})
    assert model.predict(frame).tolist() == [1, 0]


def test_unreachable_store_is_a_clear_error(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(BackendUnavailableError, match="cannot read the MLflow tracking store"):
        import_mlflow(ws, "http://127.0.0.1:9/")
