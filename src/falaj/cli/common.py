"""Shared CLI plumbing: the workspace from the global options, consoles, error rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from falaj.workspace import Workspace

__all__ = ["CliState", "console", "err_console", "open_workspace", "print_json", "state"]

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    """Global options given before the sub-command (``falaj --home DIR ...``)."""

    home: Path | None = None
    config: Path | None = None


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


@contextmanager
def open_workspace(ctx: typer.Context) -> Iterator[Workspace]:
    """Open the workspace named by ``--home``/``--config``/``FALAJ_HOME`` for one command."""
    from falaj.config import Settings
    from falaj.logs import configure_logging
    from falaj.workspace import Workspace

    st = state(ctx)
    overrides: dict[str, Any] = {}
    if st.home is not None:
        overrides["home"] = st.home
    settings = Settings.load(config_file=st.config, **overrides)
    configure_logging(settings.log_format, settings.log_level)
    with Workspace.open(settings=settings) as ws:
        yield ws


def print_json(value: Any) -> None:
    """Machine-readable output on stdout (for ``--json`` flags)."""
    typer.echo(json.dumps(value, indent=2, default=str))
