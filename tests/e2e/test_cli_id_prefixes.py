"""Every command that takes an id accepts the prefix that list commands print (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj

ROOT = Path(__file__).resolve().parents[2]
MOD = "tests.unit.pipelines.sample_steps"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A workspace with a run (artifact + dataset input) and a pipeline run; returns its ids."""
    path = tmp_path_factory.mktemp("prefixes") / "ws"
    with Workspace.init(path) as ws:
        version = ws.datasets.register("loans", pd.DataFrame({"a": [1, 2, 3]}))
        with ws.start_run("credit", run_name="full") as run:
            run.log_param("seed", 7)
            artifact = run.log_bytes(b"report body", "report.txt", "text/plain")
            run.log_dataset(version.id)
            from sklearn.linear_model import LogisticRegression

            X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
            run.log_model(LogisticRegression().fit(X, [0, 0, 1, 1]), "clf", input_example=X)
        pipe = ws.pipelines.run(f"{MOD}:linear", params={"rows": 2})
    return {
        "home": str(path),
        "run": run.id,
        "artifact": artifact.digest,
        "pipeline_run": pipe.id,
        "step_run": pipe.steps[0].id,
    }


def _falaj(ids: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return run_falaj("--home", ids["home"], *args, cwd=ROOT)


def test_runs_show_by_the_printed_prefix_shows_artifacts_and_inputs(home: dict[str, str]) -> None:
    listed = _falaj(home, "runs", "list")
    prefix = home["run"][:12]
    assert prefix in listed.out
    by_prefix = json.loads(_falaj(home, "runs", "show", prefix, "--json").out)
    by_id = json.loads(_falaj(home, "runs", "show", home["run"], "--json").out)
    assert by_prefix == by_id
    assert [a["name"] for a in by_prefix["artifacts"]] == ["models/clf", "report.txt"]
    assert [m["name"] for m in by_prefix["models"]] == ["clf"]
    assert by_prefix["inputs"] == [{"dataset_version": "loans@1", "context": "training"}]
    shown = _falaj(home, "runs", "show", prefix)
    assert "report.txt" in shown.out and "input dataset loans@1" in shown.out
    assert f"model runs:/{home['run']}/clf" in shown.out


def test_models_register_takes_the_run_id_prefix(home: dict[str, str]) -> None:
    prefix = home["run"][:12]
    made = _falaj(home, "models", "register", "churn", f"runs:/{prefix}/clf")
    assert made.code == 0, made.err
    assert f"from runs:/{home['run']}/clf" in made.out


def test_pipeline_show_and_logs_by_a_prefix(home: dict[str, str]) -> None:
    prefix = home["pipeline_run"][:12]
    shown = _falaj(home, "pipeline", "show", prefix, "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["id"] == home["pipeline_run"]
    logs = _falaj(home, "pipeline", "show", prefix, "--logs", "make_frame")
    assert logs.out == "making 2 rows\n"


def test_lineage_of_a_step_run_by_the_prefix_the_steps_table_prints(home: dict[str, str]) -> None:
    shown = _falaj(home, "pipeline", "show", home["pipeline_run"])
    prefix = home["step_run"][:12]
    assert prefix in shown.out
    tree = _falaj(home, "lineage", f"step_run:{prefix}", "--json")
    assert tree.code == 0, tree.err
    assert json.loads(tree.out)["node"] == f"step_run:{home['step_run']}"


def test_artifacts_get_by_the_printed_prefix(home: dict[str, str], tmp_path: Path) -> None:
    prefix = home["artifact"][:16]
    assert prefix in _falaj(home, "artifacts", "list").out
    out = tmp_path / "report.txt"
    got = _falaj(home, "artifacts", "get", prefix, "-o", str(out))
    assert got.code == 0, got.err
    assert out.read_bytes() == b"report body"
    assert _falaj(home, "artifacts", "verify", f"sha256:{prefix}").code == 0


def test_an_ambiguous_or_unknown_prefix_is_one_clear_line(home: dict[str, str]) -> None:
    unknown = _falaj(home, "pipeline", "show", "ffffffffffff")
    assert unknown.code != 0
    assert unknown.err.strip() == "error: pipeline run 'ffffffffffff' does not exist"


def test_audit_list_accepts_the_resource_as_the_table_prints_it(home: dict[str, str]) -> None:
    table = _falaj(home, "audit", "list", "--action", "dataset.register")
    assert "dataset_version:loans@1" in table.out
    printed = _falaj(home, "audit", "list", "--resource", "dataset_version:loans@1", "--json")
    bare = _falaj(home, "audit", "list", "--resource", "loans@1", "--json")
    events = json.loads(printed.out)
    assert [e["action"] for e in events] == ["dataset.register"]
    assert events == json.loads(bare.out)
