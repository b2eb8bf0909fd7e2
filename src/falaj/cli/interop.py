"""``falaj import``: bring runs and models in from peer tools."""

from __future__ import annotations

import typer
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json
from falaj.redact import redact

app = typer.Typer(help="Import from peer tools (MLflow).", no_args_is_help=True)


@app.command("mlflow")
def mlflow_(
    ctx: typer.Context,
    tracking_uri: str = typer.Option(
        ...,
        "--tracking-uri",
        help="MLflow tracking URI (sqlite:///mlflow.db, http://host:5000...).",
    ),
    registry_uri: str | None = typer.Option(None, help="MLflow registry URI (default: the same)."),
    experiment: list[str] = typer.Option(
        [], "--experiment", "-e", help="Only these experiments (repeatable; default: all)."
    ),
    no_artifacts: bool = typer.Option(False, "--no-artifacts", help="Skip run artifacts."),
    no_models: bool = typer.Option(False, "--no-models", help="Skip the model registry."),
    trust_pickles: bool = typer.Option(
        False,
        "--trust-pickles",
        help="Load pickled MLflow models (runs their code) to convert them.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Import experiments, runs and registered models from MLflow (safe to re-run)."""
    from falaj.interop.mlflow import import_mlflow

    with open_workspace(ctx) as ws:
        report = import_mlflow(
            ws,
            tracking_uri,
            registry_uri=registry_uri,
            experiments=experiment or None,
            include_artifacts=not no_artifacts,
            include_models=not no_models,
            trust_pickles=trust_pickles,
        )
    if as_json:
        print_json(report.as_dict())
        return
    table = Table("imported", "count", title=f"MLflow import from {redact(tracking_uri)}")
    for label, value in (
        ("experiments", report.experiments),
        ("runs (new)", report.runs_imported),
        ("runs (already imported)", report.runs_already_present),
        ("params", report.params),
        ("metric points", report.metric_points),
        ("tags", report.tags),
        ("artifacts", report.artifacts),
        ("model versions (new)", report.versions_imported),
        ("model versions (already imported)", report.versions_already_present),
        ("aliases set", report.aliases_set),
    ):
        table.add_row(label, f"{value:,}")
    console.print(table)
    for line in report.skipped:
        console.print(f"[yellow]skipped[/] {line}", highlight=False)
