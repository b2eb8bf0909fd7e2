"""Stage: closing the loop. The champion's predictions are logged (asynchronously, batched, pii
masked), labels arrive later as feedback, drift against the training data finds the shifted
column, accuracy is computed from the feedback, a monitor fires an alert to a webhook (a real
local HTTP server), and the retraining trigger runs the training pipeline on fresh data: the new
candidate waits at the gates, the champion alias does not move.

Reads ``ctx.results["champion_version"]`` (the promotion stage), ``ctx.results["dataset_name"]``
(the data stage's dataset, when it ran). Puts ``ctx.results["monitoring"]``: a dict with the
drifted columns, the accuracy, the alert id, the retrained version and the report path.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

MODEL = "credit-risk"
SHIFTED = "credit_amount"
TRAFFIC = 600


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def _traffic(ctx: DemoContext) -> Any:
    """Applicants of the coming weeks: like the training data, but asking for 2.5x the amount."""
    import pandas as pd

    from falaj.demo.sample_data import german_credit_path

    name = ctx.results.get("dataset_name")
    base = ctx.ws.datasets.load(name) if name else pd.read_csv(german_credit_path())
    rows = base.sample(TRAFFIC, replace=True, random_state=11).reset_index(drop=True)
    rows[SHIFTED] = (rows[SHIFTED] * 2.5).round().astype(rows[SHIFTED].dtype)
    return rows


def run(ctx: DemoContext) -> None:
    from falaj.monitoring import DriftConfig
    from falaj.store.schema import utcnow

    ws = ctx.ws
    champion = int(ctx.results["champion_version"])
    loaded = ws.registry.load_model(MODEL, champion)
    traffic = _traffic(ctx)
    inputs = traffic[list(loaded.input_columns)]
    proba = loaded.predict_proba(inputs)[:, 1]
    log = ws.monitoring.prediction_log(sample_rate=1.0)
    start = utcnow() - dt.timedelta(minutes=30)
    ids = [f"demo-{i:04d}" for i in range(len(traffic))]
    for i, rid in enumerate(ids):
        log.log(
            request_id=rid, model=MODEL, version=champion, deployment="credit-risk-prod",
            revision="rev-1", inputs=traffic.iloc[[i]].drop(columns=["risk"]),
            outputs={"predict": [int(proba[i] >= 0.5)],
                     "predict_proba": [[1.0 - float(proba[i]), float(proba[i])]]},
            latency_ms=2.0, at=start + dt.timedelta(seconds=2 * i), shadow=False,
        )  # fmt: skip
    log.flush()
    ctx.say(
        f"logged {log.submitted} predictions of {MODEL} v{champion} (batched in the background, "
        f"at most {log.max_pending} queued, {log.partitions_written} Parquet partition(s))"
    )

    labels = traffic["risk"].astype(int).tolist()
    attached = ws.monitoring.feedback(list(zip(ids, labels, strict=True)))
    ctx.say(f"feedback: {attached} labels attached to their request ids, days later")

    config = DriftConfig(drift_share=0.1)
    reference = _reference(ctx, champion)
    outcome = ws.monitoring.drift(MODEL, champion, reference=reference, config=config)
    report = outcome.report
    title = f"drift vs the training data {outcome.reference} ({report.rows} rows)"
    table = Table("feature", "test", "statistic", "p-value", "drifted", title=title)
    for column, f in report.features.items():
        table.add_row(
            escape(column), f.test, f"{f.statistic:.3g}",
            "-" if f.p_value is None else f"{f.p_value:.2g}",
            "[bold red]yes[/]" if f.drifted else "no",
        )  # fmt: skip
    ctx.console.print(table)
    path = ctx.workdir / "reports" / f"{MODEL}-v{champion}-drift.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    ws.monitoring.report(outcome, path)
    if report.prediction is not None:
        p = report.prediction
        ctx.say(
            f"predictions: {p.test} {p.statistic:.3g} "
            + ("[bold red]drifted[/]" if p.drifted else "stable")
        )
    ctx.say(f"drifted: {', '.join(report.drifted_columns) or 'nothing'}; HTML report {path}")

    perf = ws.monitoring.performance(MODEL, champion).performance
    shown = ", ".join(f"{k} {v:.3f}" for k, v in perf.metrics.items() if v is not None)
    estimate = (perf.estimated or {}).get("accuracy")
    ctx.say(
        f"on {perf.labelled} labelled predictions: {shown}"
        + (f"; CBPE estimated accuracy without labels {estimate:.3f}" if estimate else "")
    )

    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        spec = {
            "checks": {"drift": {"drift_share": 0.1, "since": "2h"}},
            "webhooks": [f"http://127.0.0.1:{server.server_address[1]}/alerts"],
            **({"reference": reference} if reference else {}),
            "trigger": {
                "on": ["drift"],
                "pipeline": "falaj.pipelines.lifecycle:credit_lifecycle",
                "params": _pipeline_params(ctx),
            },
        }
        ws.monitoring.monitors.create("credit-risk-drift", MODEL, "champion", spec=spec)
        fresh = traffic.copy()
        if ctx.results.get("dataset_name"):
            ws.datasets.register(
                ctx.results["dataset_name"],
                fresh,
                description="applications labelled in production",
            )
        result = ws.monitoring.monitors.run("credit-risk-drift")
    finally:
        server.shutdown()
        server.server_close()
    alert = result.alerts[0] if result.alerts else None
    if alert is not None:
        posted = server.received[0]["alert"]["id"] if server.received else None  # type: ignore[attr-defined]
        ctx.say(
            f"[bold red]alert[/] {alert.id[:8]} ({alert.check}): {escape(alert.message)}; webhook "
            f"answered {alert.deliveries[0]['status']} and received alert "
            f"{posted[:8] if posted else 'nothing'}"
        )
    retrained = result.retrain
    if retrained is not None:
        for ref in retrained.versions:
            name, _, number = ref.rpartition("/")
            gates = ws.registry.check_gates(name, int(number))
            ctx.say(
                f"retraining trigger: pipeline run {retrained.pipeline_run_id[:12]} registered "
                f"{ref}; gates {'PASS' if gates.passed else '[yellow]FAIL[/]'} "
                f"({len(gates.failures)} of {len(gates.conditions)} conditions open): it waits "
                "for evidence and approval; champion stays "
                f"v{ws.registry.aliases(name)['champion']}"
            )
    ctx.results["monitoring"] = {
        "drifted": report.drifted_columns,
        "accuracy": perf.metrics.get("accuracy"),
        "alert": alert.id if alert else None,
        "retrained": retrained.versions if retrained else [],
        "report": str(path),
    }


def _reference(ctx: DemoContext, champion: int) -> str | None:
    """None: the training dataset the champion's lineage names. Without the data stage the
    model was trained on the CSV itself: register it, and name it as the reference."""
    import pandas as pd

    from falaj.demo.sample_data import german_credit_path
    from falaj.lineage import Node

    edges = ctx.ws.lineage.upstream(Node("model_version", f"{MODEL}/{champion}"))
    if any(e.source.kind == "dataset_version" for e in edges):
        return None
    version = ctx.ws.datasets.register("german-credit", pd.read_csv(german_credit_path()))
    ctx.say(f"the champion was trained on the CSV itself: {version.id} is the reference")
    return version.id


def _pipeline_params(ctx: DemoContext) -> dict[str, Any]:
    from falaj.demo.sample_data import german_credit_path

    return {
        "dataset": ctx.results.get("dataset_name", "german-credit"),
        "csv_path": str(german_credit_path()),
        "model_name": MODEL,
    }
