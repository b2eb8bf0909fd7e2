"""``falaj demo``: the whole lifecycle on a throw-away embedded workspace."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Folder for the demo workspace (default: a temporary folder)."
    ),
    keep: bool = typer.Option(False, "--keep", help="Keep the temporary workspace afterwards."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only these stages (by key)."),
) -> None:
    """Run the end-to-end demo: raw data to a governed model, on SQLite and a local folder."""
    from falaj.cli.common import console
    from falaj.demo.runner import run_demo

    run_demo(workdir, keep=keep, console=console, only=only)
