"""The ``falaj`` command line: parse → call a service → render with rich.

Input mistakes print one line and exit non-zero (the :class:`~falaj.errors.FalajError` subclass's
``exit_code``); no traceback reaches the user unless ``FALAJ_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import typer

from falaj.cli import artifacts, audit, db, demo, workspace_cmds
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


workspace_cmds.register(app)
app.add_typer(db.app, name="db")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(audit.app, name="audit")
demo.register(app)
from falaj.cli import gates as _gates_cli  # noqa: E402
from falaj.cli import models as _models_cli  # noqa: E402

app.add_typer(_models_cli.app, name="models")
_gates_cli.register(app)
from falaj.cli import lineage as _lineage_cli  # noqa: E402
from falaj.cli import pipeline as _pipeline_cli  # noqa: E402

_pipeline_cli.register(app)
_lineage_cli.register(app)
from falaj.cli import data as _data_cli  # noqa: E402

app.add_typer(_data_cli.app, name="data")
from falaj.cli import interop as _interop_cli  # noqa: E402
from falaj.cli import runs as _runs_cli  # noqa: E402

app.add_typer(_runs_cli.app, name="runs")
app.add_typer(_interop_cli.app, name="import")
from falaj.cli import training as _training_cli  # noqa: E402

app.add_typer(_training_cli.app, name="train")
# [cli: capability command groups]


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns Falaj errors into one-line messages."""
    from falaj.errors import FalajError

    try:
        code = app(args=argv, standalone_mode=False)
    except FalajError as exc:
        if os.environ.get("FALAJ_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:
        sys.exit(code)
