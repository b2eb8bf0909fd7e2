"""Monitors, alerts to a real webhook server, the retraining trigger, metrics and exports."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from falaj.monitoring import MonitorSpecError, RequestStats
from falaj.monitoring.collector import METRIC_NAMES
from falaj.workspace import Workspace
from tests.unit.monitoring.support import MODEL, T0, frame, log_traffic, register_model, target

pytestmark = pytest.mark.slow

PIPELINE = "tests.unit.monitoring.retrain_pipeline:churn_training"


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    arrived: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.server.arrived.set()  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[Any]:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    server.arrived = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def test_a_drift_alert_is_recorded_and_posted_to_the_webhook(ws: Workspace, webhook: Any) -> None:
    register_model(ws)
    log_traffic(ws, ws.monitoring.prediction_log(), frame(1200, seed=21, shift={"spend": 20.0}))
    spec = {"checks": {"drift": {"since": "2h", "drift_share": 0.2}}, "webhooks": [_url(webhook)]}
    ws.monitoring.monitors.create("churn-drift", MODEL, "champion", spec=spec)
    run = ws.monitoring.monitors.run("churn-drift", now=T0 + dt.timedelta(minutes=30))
    assert run.checks["drift"]["alert"] is True
    assert "spend" in run.checks["drift"]["drifted_columns"]
    assert webhook.arrived.wait(10)
    posted = webhook.received[0]["alert"]
    assert posted["monitor"] == "churn-drift" and posted["check"] == "drift"
    assert posted["model"] == MODEL and posted["version"] == 1
    stored = ws.monitoring.monitors.alerts("churn-drift")
    assert [a.id for a in stored] == [posted["id"]]
    assert stored[0].deliveries == [{"url": _url(webhook), "status": 204, "error": None}]


def test_an_unreachable_webhook_is_recorded_not_raised(ws: Workspace) -> None:
    register_model(ws)
    data = frame(50, seed=22)
    ids = log_traffic(ws, ws.monitoring.prediction_log(), data)
    ws.monitoring.feedback([(i, 1 - int(t)) for i, t in zip(ids, target(data), strict=True)])
    spec = {
        "checks": {"performance": {"since": "2h", "metric": "accuracy", "min": 0.9}},
        "webhooks": ["http://127.0.0.1:9/nothing-listens"],
    }
    ws.monitoring.monitors.create("churn-acc", MODEL, "champion", spec=spec)
    run = ws.monitoring.monitors.run("churn-acc", now=T0 + dt.timedelta(minutes=30))
    assert run.checks["performance"]["alert"] is True
    (alert,) = run.alerts
    assert alert.deliveries[0]["status"] is None and "ConnectError" in alert.deliveries[0]["error"]


def test_health_alerts_per_revision_from_request_stats(ws: Workspace) -> None:
    from falaj.monitoring.ports import MonitoringLinks

    class Stats:
        def request_stats(
            self, model: str, since: dt.datetime, until: dt.datetime
        ) -> list[RequestStats]:
            assert model == MODEL and until - since == dt.timedelta(hours=1)
            return [RequestStats("rev-1", 1000, 3, 40.0), RequestStats("rev-2", 200, 30, 900.0)]

    register_model(ws)
    links = ws.monitoring.links
    ws.monitoring._links = MonitoringLinks(  # the merge wires serving's source the same way
        links.artifacts, links.lineage, links.objects, links.registry, links.datasets,
        links.pipelines, request_stats=lambda: Stats(),
    )  # fmt: skip
    spec = {
        "checks": {"health": {"since": "1h", "max_error_rate": 0.05, "max_latency_p95_ms": 500}}
    }
    ws.monitoring.monitors.create("churn-health", MODEL, "champion", spec=spec)
    run = ws.monitoring.monitors.run("churn-health", now=T0)
    message = run.checks["health"]["message"]
    assert run.checks["health"]["alert"] is True
    assert "rev-2: error rate 0.150" in message and "rev-2: p95 latency 900" in message
    assert "rev-1" not in message


def test_the_retraining_trigger_registers_a_candidate_that_waits_at_the_gates(
    ws: Workspace,
) -> None:
    data = frame(600, seed=1)
    data["churned"] = target(data)
    ws.datasets.register("customers", data)
    first = ws.pipelines.run(PIPELINE)
    assert first.status == "SUCCEEDED"
    ws.registry.set_alias(MODEL, "champion", 1, reason="first")
    ws.registry.set_policy(MODEL, "risk: low\napprovals: {count: 1}\n")
    log_traffic(ws, ws.monitoring.prediction_log(), frame(1200, seed=23, shift={"spend": 25.0}))
    fresh = frame(600, seed=24, shift={"spend": 25.0})
    fresh["churned"] = target(fresh)
    ws.datasets.register("customers", fresh)  # the fresh data the trigger must read
    spec = {
        "checks": {"drift": {"since": "2h", "drift_share": 0.2}},
        "trigger": {"on": ["drift"]},
        "reference": "customers@1",
    }
    ws.monitoring.monitors.create("churn-retrain", MODEL, "champion", spec=spec)
    run = ws.monitoring.monitors.run("churn-retrain", now=T0 + dt.timedelta(minutes=30))
    assert run.retrain is not None
    assert run.retrain.pipeline == PIPELINE
    assert run.retrain.versions == [f"{MODEL}/2"]
    assert run.retrain.gates == {f"{MODEL}/2": False}  # no approval yet: it waits
    assert ws.registry.aliases(MODEL) == {"champion": 1}  # never moved by the trigger
    inputs = {
        e.source.id
        for e in ws.lineage.upstream(f"model_version:{MODEL}/2")
        if e.source.kind == "dataset_version"
    }
    assert "customers@2" in inputs


def test_a_version_without_a_pipeline_names_the_fix(ws: Workspace) -> None:
    register_model(ws)
    with pytest.raises(MonitorSpecError, match=r"trigger\.pipeline"):
        ws.monitoring.monitors.retrain(MODEL, 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"checks": {}}, "at least one check"),
        ({"checks": {"drift": {"since": "soon"}}}, "duration 'soon'"),
        ({"checks": {"accuracy": {}}}, "check 'accuracy' is unknown"),
        ({"checks": {"performance": {}}}, "'min' or 'max'"),
        ({"checks": {"drift": {}}, "webhooks": ["ftp://x"]}, "webhooks"),
        ({"checks": {"drift": {"drift_share": 3}}, "schedule_s": 5}, "drift_share 3"),
    ],
)
def test_bad_monitor_specs_are_refused_and_nothing_is_stored(
    ws: Workspace, spec: dict[str, Any], message: str
) -> None:
    register_model(ws)
    with pytest.raises(MonitorSpecError, match=message):
        ws.monitoring.monitors.create("bad", MODEL, "champion", spec=spec)
    assert ws.monitoring.monitors.list() == []


def test_the_collector_exposes_drift_and_metric_gauges(ws: Workspace) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    register_model(ws)
    data = frame(1200, seed=25, shift={"spend": 20.0})
    ids = log_traffic(ws, ws.monitoring.prediction_log(), data)
    ws.monitoring.feedback(list(zip(ids, target(data).tolist(), strict=True)))
    until = T0 + dt.timedelta(hours=1)
    ws.monitoring.drift(MODEL, "champion", since=T0, until=until)
    perf = ws.monitoring.performance(MODEL, "champion", since=T0, until=until).performance
    registry = CollectorRegistry()
    registry.register(ws.monitoring.collector(MODEL, 1))
    text = generate_latest(registry).decode()
    assert 'falaj_feature_drift{feature="spend",model="churn",version="1"}' in text
    assert 'falaj_feature_drift_detected{feature="spend",model="churn",version="1"} 1.0' in text
    assert 'falaj_dataset_drift{model="churn",version="1"}' in text
    line = next(
        x for x in text.splitlines() if x.startswith('falaj_model_metric{metric="accuracy"')
    )
    assert float(line.split()[-1]) == pytest.approx(perf.metrics["accuracy"])
    assert 'falaj_prediction_share{bucket="1",model="churn",version="1"}' in text


def test_export_writes_a_dashboard_and_rules_naming_existing_metrics(
    ws: Workspace, tmp_path: Path
) -> None:
    register_model(ws)
    files = ws.monitoring.export(tmp_path / "deploy", model=MODEL)
    dashboard = json.loads(files[0].read_text())
    rules = yaml.safe_load(files[1].read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert exprs and all(any(name in e for name in METRIC_NAMES) for e in exprs)
    assert all('model=~"churn"' in e for e in exprs if "monitor_alert" not in e)
    assert dashboard["uid"] and dashboard["__inputs"][0]["pluginId"] == "prometheus"


def test_the_html_report_is_self_contained_with_charts(ws: Workspace, tmp_path: Path) -> None:
    from falaj.training.reports.html import external_references

    register_model(ws)
    log_traffic(ws, ws.monitoring.prediction_log(), frame(1200, seed=26, shift={"plan": 1.0}))
    outcome = ws.monitoring.drift(MODEL, "champion", since=T0, until=T0 + dt.timedelta(hours=1))
    html = ws.monitoring.report(outcome, tmp_path / "drift.html")
    assert (tmp_path / "drift.html").read_text() == html
    assert external_references(html) == []
    assert html.count("<svg") >= 6 and "plan (jensenshannon" in html
    assert '<span class="fail">DRIFT</span>' not in html or outcome.drifted
