"""The credit lifecycle pipeline end to end: dataset → steps → tracked run → model version,
all linked in lineage, and a re-run served from the cache without a second version."""

from __future__ import annotations

from falaj.demo.sample_data import german_credit_path
from falaj.lineage import Node
from falaj.pipelines.lifecycle import credit_lifecycle
from falaj.workspace import Workspace


def test_lifecycle_links_dataset_steps_run_and_model_version(ws: Workspace) -> None:
    params = {"dataset": "credit", "csv_path": str(german_credit_path())}
    first = ws.pipelines.run(credit_lifecycle, params=params)
    assert [s.step for s in first.steps] == ["ingest", "validate", "train", "evaluate", "register"]
    register = first.latest("register")
    assert register is not None
    out = ws.pipelines.load_output(register.id)
    assert (out["name"], out["version"]) == ("credit-risk-pipeline", 1)

    model_node = Node("model_version", "credit-risk-pipeline/1")
    upstream = {str(e.source) for e in ws.lineage.upstream(model_node)}
    train = first.latest("train")
    assert train is not None
    assert {
        f"run:{out['run_id']}",
        f"step_run:{train.id}",
        f"step_run:{register.id}",
        f"pipeline_run:{first.id}",
        "dataset_version:credit@1",
    } <= upstream
    tracked = ws.tracking.get_run(out["run_id"])
    assert tracked.tags["falaj.step_run_id"] == train.id
    assert tracked.status == "FINISHED"

    second = ws.pipelines.run(credit_lifecycle, params=params)
    assert [s.status for s in second.steps] == ["CACHED"] * 5
    assert ws.registry.get_version("credit-risk-pipeline", "latest").version == 1

    # New data under the same name: the step that read it by name runs again on the new version.
    import pandas as pd

    newer = ws.datasets.register("credit", pd.read_csv(german_credit_path()).iloc[:800])
    third = ws.pipelines.run(credit_lifecycle, params=params)
    ingest = third.latest("ingest")
    assert ingest is not None and ingest.status == "SUCCEEDED"
    assert ws.pipelines.load_output(ingest.id, "dataset_version") == newer.id == "credit@2"
