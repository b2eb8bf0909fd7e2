"""The ``falaj`` command line: parse → call a service → render with rich.

Input mistakes print one line and exit non-zero (the :class:`~falaj.errors.FalajError` subclass's
``exit_code``); no traceback reaches the user unless ``FALAJ_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from falaj.cli import (
    artifacts,
    audit,
    data,
    db,
    demo,
    gates,
    interop,
    lineage,
    models,
    pipeline,
    runs,
    training,
    workspace_cmds,
)
from falaj.cli.common import err_console, state

app = typer.Typer(
    name="falaj",
    help="Falaj: one governed workflow from raw data to a monitored model in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Workspace folder (default: $FALAJ_HOME or ~/.falaj)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Settings file (default: $FALAJ_CONFIG or <home>/falaj.toml)."
    ),
) -> None:
    st = state(ctx)
    st.home = home
    st.config = config


# Lifecycle order: foundation, data, tracking, registry and gates, pipelines, training.
workspace_cmds.register(app)
app.add_typer(db.app, name="db")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(audit.app, name="audit")
app.add_typer(data.app, name="data")
app.add_typer(runs.app, name="runs")
app.add_typer(interop.app, name="import")
app.add_typer(models.app, name="models")
gates.register(app)
pipeline.register(app)
lineage.register(app)
app.add_typer(training.app, name="train")
demo.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns Falaj errors into one-line messages.

    Usage mistakes (unknown options, missing arguments) are reported by the command-line parser
    itself with exit code 2; Falaj errors print one red line and exit with their ``exit_code``.
    """
    from falaj.errors import FalajError

    try:
        app(args=argv, prog_name="falaj")
    except FalajError as exc:
        if os.environ.get("FALAJ_DEBUG"):
            raise
        from rich.markup import escape  # messages hold [lists] that are not markup

        from falaj.redact import redact  # no message shows a password, whoever wrote it

        err_console.print(
            f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
