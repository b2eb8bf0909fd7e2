"""``falaj monitor ...`` (drift, performance, retention, monitors, alerts) and
``falaj monitoring export`` (Grafana dashboard and Prometheus rules).

``falaj monitor drift NAME@ALIAS --fail-on-drift`` exits 8 when drift is found, so a CI job or a
cron entry can act on it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json

if TYPE_CHECKING:
    from falaj.monitoring.outcomes import DriftOutcome

monitor_app = typer.Typer(
    help="Watch served models: drift, performance, retention, monitors and alerts.",
    no_args_is_help=True,
)
monitoring_app = typer.Typer(
    help="Monitoring exports: Grafana dashboards and Prometheus alerting rules.",
    no_args_is_help=True,
)

_TARGET = "Model as NAME@ALIAS or NAME@VERSION (e.g. credit@champion)."
_SINCE = "Window: predictions of the last DURATION (e.g. 24h, 7d); default: all logged."


class Correction(StrEnum):
    """How p-value tests are corrected for many columns."""

    bh = "benjamini-hochberg"
    bonferroni = "bonferroni"
    none = "none"


class Task(StrEnum):
    """The model's task (inferred from the labels when not given)."""

    classification = "classification"
    regression = "regression"


def _since(text: str | None) -> Any:
    from falaj.monitoring.windows import parse_duration

    return parse_duration(text) if text is not None else None


def _render_drift(outcome: DriftOutcome) -> None:
    report = outcome.report
    table = Table(
        "feature", "type", "test", "statistic", "p-value", "drifted",
        title=f"drift of {outcome.model} v{outcome.version} vs {outcome.reference} "
        f"({report.rows} rows)",
    )  # fmt: skip
    for column, f in report.features.items():
        table.add_row(
            escape(column), f.kind, f.test, f"{f.statistic:.4g}",
            "-" if f.p_value is None else f"{f.p_value:.3g}",
            "[bold red]yes[/]" if f.drifted else "no",
        )  # fmt: skip
    console.print(table)
    if report.prediction is not None:
        p = report.prediction
        console.print(
            f"predictions: {p.test} {p.statistic:.4g} "
            + ("[bold red]drifted[/]" if p.drifted else "stable")
        )
    verdict = "[bold red]DRIFT[/]" if report.drifted else "[bold green]no drift[/]"
    console.print(
        f"{verdict}: {len(report.drifted_columns)} of {len(report.features)} features drifted "
        f"(share {report.share_drifted:.2f}, threshold {report.config.drift_share})"
    )


@monitor_app.command("drift")
def drift(
    ctx: typer.Context,
    target: str = typer.Argument(..., help=_TARGET),
    reference: str | None = typer.Option(
        None, "--reference", help="Reference DATASET@VERSION (default: the training dataset)."
    ),
    since: str | None = typer.Option(None, "--since", help=_SINCE),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Share of drifted features that makes the dataset drift."
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance of the p-value tests."),
    correction: Correction = typer.Option(
        Correction.bh, "--correction", help="Correction of p-value tests for many columns."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write the self-contained HTML report to this file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="Exit 8 when the dataset drifted."
    ),
) -> None:
    """Drift of the logged inputs and predictions against the reference (stored: the trend)."""
    from falaj.monitoring.drift import DriftConfig
    from falaj.monitoring.errors import DriftDetectedError
    from falaj.monitoring.windows import parse_target

    name, ref = parse_target(target)
    config = DriftConfig(alpha=alpha, drift_share=drift_share, correction=correction.value)
    with open_workspace(ctx) as ws:
        outcome = ws.monitoring.drift(
            name, ref, reference=reference, since=_since(since), config=config
        )
        if report is not None:
            ws.monitoring.report(outcome, report)
    if as_json:
        print_json(outcome.as_dict())
    else:
        _render_drift(outcome)
        if report is not None:
            console.print(f"report: {report}")
    if fail_on_drift and outcome.drifted:
        raise typer.Exit(DriftDetectedError.exit_code)


@monitor_app.command("performance")
def performance(
    ctx: typer.Context,
    target: str = typer.Argument(..., help=_TARGET),
    since: str | None = typer.Option(None, "--since", help=_SINCE),
    task: Task | None = typer.Option(None, "--task", help="The model's task (default: inferred)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """The task's metrics over predictions that received feedback (and the CBPE estimate)."""
    from falaj.monitoring.windows import parse_target

    name, ref = parse_target(target)
    with open_workspace(ctx) as ws:
        outcome = ws.monitoring.performance(
            name, ref, since=_since(since), task=task.value if task else None
        )
    if as_json:
        print_json(outcome.as_dict())
        return
    perf = outcome.performance
    table = Table("metric", "value", title=f"{perf.task} metrics of {name} v{outcome.version}")
    for metric, value in perf.metrics.items():
        table.add_row(metric, "n/a" if value is None else f"{value:.4f}")
    for metric, value in (perf.estimated or {}).items():
        if metric != "rows":
            table.add_row(f"estimated {metric} (CBPE)", f"{value:.4f}")
    console.print(table)
    console.print(f"{perf.labelled} labelled of {perf.predictions} logged predictions")


@monitor_app.command("retention")
def retention(
    ctx: typer.Context,
    days: float = typer.Option(..., "--days", help="Delete logged predictions older than this."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Delete prediction-log partitions (bytes, index, request ids, feedback) past retention."""
    with open_workspace(ctx) as ws:
        result = ws.monitoring.retention(days)
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(
            f"deleted {result.partitions} partitions ({result.requests} requests, "
            f"{result.bytes} bytes) older than {result.cutoff:%Y-%m-%d %H:%M} UTC"
        )


@monitor_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Monitor name."),
    target: str = typer.Argument(..., help=_TARGET),
    spec: Path = typer.Option(..., "--spec", help="Monitor spec (YAML): checks, webhooks..."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Create a monitor from a YAML spec (see docs/monitoring.md)."""
    from falaj.errors import NotFoundError
    from falaj.monitoring.windows import parse_target
    from falaj.yamlsafe import load_yaml, read_yaml_file

    model, ref = parse_target(target)
    try:
        text = read_yaml_file(spec)
    except FileNotFoundError:
        raise NotFoundError(f"monitor spec {spec} does not exist") from None
    body = load_yaml(text, source=str(spec))
    with open_workspace(ctx) as ws:
        monitor = ws.monitoring.monitors.create(name, model, str(ref), spec=body)
    if as_json:
        print_json(monitor.as_dict())
    else:
        console.print(f"monitor {escape(name)} watches {escape(target)}")


@monitor_app.command("list")
def list_monitors(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list."),
) -> None:
    """Monitors, their checks and last run."""
    with open_workspace(ctx) as ws:
        monitors = ws.monitoring.monitors.list()
    if as_json:
        print_json([m.as_dict() for m in monitors])
        return
    table = Table("name", "model", "checks", "webhooks", "last run")
    for m in monitors:
        table.add_row(
            escape(m.name), escape(f"{m.model}@{m.ref}"), ", ".join(m.spec["checks"]),
            str(len(m.spec.get("webhooks", []))),
            m.last_run_at.strftime("%Y-%m-%d %H:%M") if m.last_run_at else "never",
        )  # fmt: skip
    console.print(table)


@monitor_app.command("run")
def run(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Monitor to run (default: every one due)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable result."),
) -> None:
    """Run a monitor now (or every monitor whose schedule is due): checks, alerts, trigger."""
    with open_workspace(ctx) as ws:
        mons = ws.monitoring.monitors
        names = [name] if name else [m.name for m in mons.due()]
        runs = [mons.run(n) for n in names]
    if as_json:
        print_json([r.as_dict() for r in runs])
        return
    for r in runs:
        for check, outcome in r.checks.items():
            state = "[bold red]ALERT[/]" if outcome["alert"] else "[green]ok[/]"
            console.print(f"{escape(r.monitor)} {check}: {state} {escape(outcome['message'])}")
        if r.retrain is not None:
            console.print(
                f"retraining: pipeline run {r.retrain.pipeline_run_id[:12]} registered "
                f"{', '.join(r.retrain.versions) or 'nothing'} (waiting at the gates)"
            )
    if not runs:
        console.print("no monitor is due")


@monitor_app.command("alerts")
def alerts(
    ctx: typer.Context,
    monitor: str | None = typer.Option(None, "--monitor", help="Only this monitor's alerts."),
    limit: int = typer.Option(50, "--limit", help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list."),
) -> None:
    """Alerts raised by monitors, with what each webhook answered."""
    with open_workspace(ctx) as ws:
        found = ws.monitoring.monitors.alerts(monitor, limit=limit)
    if as_json:
        print_json([a.as_dict() for a in found])
        return
    table = Table("time", "monitor", "check", "severity", "message", "delivered")
    for a in found:
        delivered = ", ".join(str(d.get("status") or d.get("error")) for d in a.deliveries)
        table.add_row(
            f"{a.created_at:%Y-%m-%d %H:%M}", escape(a.monitor), a.check, a.severity,
            escape(a.message), escape(delivered or "-"),
        )  # fmt: skip
    console.print(table)


@monitoring_app.command("export")
def export(
    ctx: typer.Context,
    out: Path = typer.Option(Path("deploy"), "--out", help="Folder to write into."),
    model: str | None = typer.Option(None, "--model", help="Registered model to export for."),
    deployment: str | None = typer.Option(
        None, "--deployment", help="Deployment to export for (its models, from lineage)."
    ),
) -> None:
    """Write a provisionable Grafana dashboard (JSON) and Prometheus alerting rules (YAML)."""
    with open_workspace(ctx) as ws:
        files = ws.monitoring.export(out, model=model, deployment=deployment)
    for path in files:
        console.print(f"wrote {path}")
