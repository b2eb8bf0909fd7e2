"""Shared CLI plumbing: the workspace from the global options, consoles, error rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

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
    server: str | None = None


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
    if st.server:
        with _remote_workspace(ctx, st.server) as remote:
            # Duck-typed: the embedded API where the remote client implements it; any other
            # call raises NotSupportedRemotelyError, reported naming the command.
            yield cast("Workspace", remote)
        return
    overrides: dict[str, Any] = {}
    if st.home is not None:
        overrides["home"] = st.home
    settings = Settings.load(config_file=st.config, **overrides)
    configure_logging(settings.log_format, settings.log_level)
    with Workspace.open(settings=settings) as ws:
        yield ws


@contextmanager
def _remote_workspace(ctx: typer.Context, url: str) -> Iterator[Any]:
    """The workspace served at ``url`` (``--server``/``FALAJ_SERVER_URL``); a command that
    needs what the remote client does not offer fails naming the command."""
    from falaj.client import NotSupportedRemotelyError, connect

    try:
        with connect(url) as remote:
            yield remote
    except NotSupportedRemotelyError as exc:
        raise NotSupportedRemotelyError(
            f"`{ctx.command_path}` is not supported against a server ({url}): {exc}"
        ) from None


def print_json(value: Any) -> None:
    """Machine-readable output on stdout (for ``--json`` flags)."""
    typer.echo(json.dumps(value, indent=2, default=str))
