"""``falaj monitor ...`` and ``falaj monitoring export`` as a user types them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from falaj.store.schema import utcnow
from falaj.workspace import Workspace
from tests.e2e.conftest import run_falaj
from tests.unit.monitoring.support import frame, log_traffic, register_model, target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose champion served shifted traffic an hour ago, half of it labelled."""
    root = tmp_path_factory.mktemp("cli-monitoring") / "ws"
    with Workspace.init(root) as ws:
        register_model(ws)
        data = frame(1200, seed=31, shift={"spend": 20.0, "plan": 1.0})
        start = utcnow() - dt.timedelta(hours=1)
        ids = log_traffic(
            ws, ws.monitoring.prediction_log(), data, start=start, step=dt.timedelta(seconds=2)
        )
        ws.monitoring.feedback(list(zip(ids[:600], target(data)[:600].tolist(), strict=True)))
    return root


def test_drift_json_shape_and_exit_8_on_drift(home: Path) -> None:
    result = run_falaj(
        "--home", str(home), "monitor", "drift", "churn@champion", "--json", "--fail-on-drift"
    )
    assert result.code == 8, result.err
    body = json.loads(result.out)
    assert body["drifted"] is True and body["rows"] == 1200
    assert body["reference"] == "customers@1"
    for column, feature in body["features"].items():
        assert set(feature) >= {"test", "statistic", "p_value", "drifted"}, column
        assert isinstance(feature["statistic"], float)
    assert {c for c, f in body["features"].items() if f["drifted"]} == {"spend", "plan"}


def test_drift_without_fail_on_drift_exits_0_and_prints_a_table(home: Path, tmp_path: Path) -> None:
    report = tmp_path / "drift.html"
    result = run_falaj(
        "--home", str(home), "monitor", "drift", "churn@1", "--since", "2h", "--report", str(report)
    )
    assert result.code == 0, result.err
    assert "DRIFT" in result.out and "spend" in result.out
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_drift_against_a_chosen_reference(home: Path) -> None:
    result = run_falaj(
        "--home",
        str(home),
        "monitor",
        "drift",
        "churn@champion",
        "--reference",
        "customers@1",
        "--json",
    )
    assert result.code == 0 and json.loads(result.out)["reference"] == "customers@1"


def test_performance_json_from_feedback(home: Path) -> None:
    result = run_falaj("--home", str(home), "monitor", "performance", "churn@champion", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert (
        body["task"] == "classification" and body["labelled"] == 600 and body["predictions"] == 1200
    )
    assert 0.5 < body["metrics"]["accuracy"] <= 1.0
    assert set(body["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}


def test_monitor_create_run_and_alerts(home: Path, tmp_path: Path) -> None:
    spec = tmp_path / "monitor.yaml"
    spec.write_text(yaml.safe_dump({"checks": {"drift": {"since": "3h", "drift_share": 0.3}}}))
    created = run_falaj(
        "--home",
        str(home),
        "monitor",
        "create",
        "churn-watch",
        "churn@champion",
        "--spec",
        str(spec),
    )
    assert created.code == 0, created.err
    ran = run_falaj("--home", str(home), "monitor", "run", "churn-watch", "--json")
    assert ran.code == 0, ran.err
    (run,) = json.loads(ran.out)
    assert run["checks"]["drift"]["alert"] is True and len(run["alerts"]) == 1
    listed = json.loads(run_falaj("--home", str(home), "monitor", "alerts", "--json").out)
    assert [a["monitor"] for a in listed] == ["churn-watch"]
    monitors = json.loads(run_falaj("--home", str(home), "monitor", "list", "--json").out)
    assert monitors[0]["last_run_at"] is not None


def test_export_writes_grafana_and_prometheus_files(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    result = run_falaj(
        "--home", str(home), "monitoring", "export", "--model", "churn", "--out", str(out)
    )
    assert result.code == 0, result.err
    dashboard = json.loads((out / "grafana" / "falaj-monitoring-churn.json").read_text())
    rules = yaml.safe_load((out / "prometheus" / "falaj-monitoring-churn.rules.yaml").read_text())
    assert dashboard["panels"] and rules["groups"][0]["rules"]


def test_mistakes_get_one_line_and_their_exit_code(home: Path) -> None:
    bad = run_falaj("--home", str(home), "monitor", "drift", "churn")
    assert bad.code == 2 and "expected NAME@ALIAS" in bad.err and "Traceback" not in bad.err
    since = run_falaj("--home", str(home), "monitor", "drift", "churn@1", "--since", "yesterday")
    assert since.code == 2 and "duration 'yesterday'" in since.err
    missing = run_falaj("--home", str(home), "monitor", "drift", "nope@champion")
    assert missing.code == 3 and "Traceback" not in missing.err
