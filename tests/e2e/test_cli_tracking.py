"""``falaj runs`` and ``falaj import mlflow`` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj


@pytest.fixture
def home(tmp_path: Path) -> str:
    """A workspace with three runs in experiment 'credit'; returns its folder."""
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        for name, model, auc in (("base", "logreg", 0.71), ("boost", "lgbm", 0.83)):
            with ws.start_run("credit", run_name=name, tags={"team": "risk"}) as run:
                run.log_params({"model": model, "seed": 7})
                for step in range(3):
                    run.log_metric("auc", auc - 0.02 * (2 - step), step=step)
        with ws.start_run("other", run_name="noise") as run:
            run.log_metric("auc", 0.5)
    return str(path)


def _ids(home: str) -> dict[str, str]:
    out = json.loads(run_falaj("--home", home, "runs", "list", "--json").out)
    return {r["name"]: r["id"] for r in out["runs"]}


def test_runs_list_filters_by_experiment(home: str) -> None:
    result = run_falaj("--home", home, "runs", "list", "--experiment", "credit")
    assert result.code == 0, result.err
    assert "base" in result.out and "boost" in result.out
    assert "noise" not in result.out


def test_runs_search_with_filter_and_order(home: str) -> None:
    result = run_falaj(
        "--home",
        home,
        "runs",
        "search",
        "metrics.auc > 0.6 and tags.team = 'risk'",
        "--order-by",
        "metrics.auc DESC",
        "--json",
    )
    assert result.code == 0, result.err
    runs = json.loads(result.out)["runs"]
    assert [r["name"] for r in runs] == ["boost", "base"]
    assert runs[0]["metrics"] == {"auc": 0.83}


def test_malformed_search_prints_the_caret_and_exits_2(home: str) -> None:
    result = run_falaj("--home", home, "runs", "search", "metrics.auc >> 1")
    assert result.code == 2
    assert "at position 13" in result.err
    assert "Traceback" not in result.err


def test_runs_show_by_id_prefix(home: str) -> None:
    run_id = _ids(home)["boost"]
    result = run_falaj("--home", home, "runs", "show", run_id[:10], "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert shown["id"] == run_id
    assert shown["params"] == {"model": "lgbm", "seed": "7"}


def test_runs_show_with_a_too_short_prefix_says_how_long_a_prefix_must_be(home: str) -> None:
    run_id = _ids(home)["boost"]
    result = run_falaj("--home", home, "runs", "show", run_id[:4])
    assert result.code == 3
    assert result.err.strip() == (
        f"error: run {run_id[:4]!r} does not exist (an id prefix needs at least 6 characters)"
    )


def test_a_search_nested_too_deep_is_a_filter_error(home: str) -> None:
    deep = "(" * 500 + "metrics.auc > 0.5" + ")" * 500
    result = run_falaj("--home", home, "runs", "search", deep)
    assert result.code == 2
    assert "nest deeper than 100 levels, got '(' (at position 100)" in result.err
    assert "Traceback" not in result.err


def test_runs_compare_marks_what_differs(home: str) -> None:
    ids = _ids(home)
    result = run_falaj("--home", home, "runs", "compare", ids["base"], ids["boost"], "--json")
    assert result.code == 0, result.err
    diff = json.loads(result.out)
    assert diff["params"]["model"] == {"values": ["logreg", "lgbm"], "differs": True}
    assert diff["params"]["seed"] == {"values": ["7", "7"], "differs": False}
    assert diff["metrics"]["auc"]["differs"] is True
    table = run_falaj("--home", home, "runs", "compare", ids["base"], ids["boost"])
    assert "params.model" in table.out
    assert "+0.12" in table.out  # the metric delta B - A
    assert "2 differing value(s)" in table.out


def test_unknown_run_is_a_one_line_error(home: str) -> None:
    result = run_falaj("--home", home, "runs", "show", "0123456789abcdef")
    assert result.code == 3
    assert "does not exist" in result.err


def test_import_mlflow_command_imports_then_skips(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    exp = client.create_experiment("legacy", artifact_location=(tmp_path / "art").as_uri())
    run = client.create_run(exp, run_name="old-run")
    client.log_param(run.info.run_id, "depth", "6")
    client.log_metric(run.info.run_id, "rmse", 1.5, step=0)
    client.log_metric(run.info.run_id, "rmse", 1.2, step=1)
    client.set_terminated(run.info.run_id)
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    first = run_falaj("--home", home, "import", "mlflow", "--tracking-uri", uri, "--json")
    assert first.code == 0, first.err
    assert json.loads(first.out)["runs_imported"] == 1
    second = run_falaj("--home", home, "import", "mlflow", "--tracking-uri", uri, "--json")
    assert json.loads(second.out)["runs_already_present"] == 1
    runs = json.loads(run_falaj("--home", home, "runs", "list", "--json").out)["runs"]
    assert [(r["name"], r["experiment"], r["metrics"]) for r in runs] == [
        ("old-run", "legacy", {"rmse": 1.2})
    ]


def test_import_mlflow_from_a_missing_sqlite_file_is_refused_and_creates_nothing(
    tmp_path: Path,
) -> None:
    home = str(tmp_path / "ws")
    assert run_falaj("init", home).code == 0
    missing = tmp_path / "typo" / "mlflow.db"
    uri = f"sqlite:///{missing}"
    result = run_falaj("--home", home, "import", "mlflow", "--tracking-uri", uri)
    assert result.code == 3
    assert f"there is no SQLite file at {missing}" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "typo").exists()


def test_names_params_and_tags_are_shown_as_typed_not_as_markup(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    with Workspace.init(path) as ws, ws.start_run("credit", run_name="[auto] sweep") as run:
        run.log_param("solver", "[lbfgs]")
        run.set_tag("note", "[bold]x")
    shown = run_falaj("--home", str(path), "runs", "show", run.id)
    assert shown.code == 0, shown.err
    for text in ("[auto] sweep", "[lbfgs]", "[bold]x"):
        assert text in shown.out
