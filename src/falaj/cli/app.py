"""The ``falaj`` command line: parse → call a service → render with rich.

Input mistakes print one line and exit non-zero (the :class:`~falaj.errors.FalajError` subclass's
``exit_code``); no traceback reaches the user unless ``FALAJ_DEBUG=1``.

Start-up cost: the sub-commands live in their own modules and are loaded only when named
(:class:`LazyGroup`), so ``falaj info`` neither imports nor builds ``falaj train``; heavy
libraries (pandas, pyarrow, sklearn) are imported inside the commands that use them. A test pins
that ``falaj --help`` imports neither pandas nor sklearn.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from falaj.cli.common import err_console, state

__all__ = ["COMMANDS", "LazyGroup", "app", "main"]


@dataclass(frozen=True)
class Lazy:
    """Where a top-level command lives: ``module:attribute`` (a Typer app or a function)."""

    module: str
    attribute: str
    hidden: bool = False

    def load(self, name: str) -> Any:
        import typer.main

        target = getattr(importlib.import_module(f"falaj.cli.{self.module}"), self.attribute)
        command: Any
        if isinstance(target, typer.Typer):
            command = typer.main.get_group(target)
        else:  # a plain function: a one-command Typer gives back that command itself
            single = typer.Typer(add_completion=False, rich_markup_mode="rich")
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        command.hidden = self.hidden
        return command


#: Every top-level command in lifecycle order: foundation, data, tracking, registry and gates,
#: pipelines, training, trust (keys, compliance), demo. ``step`` is for orchestrators, so it is
#: hidden from ``--help``.
COMMANDS: dict[str, Lazy] = {
    "init": Lazy("workspace_cmds", "init"),
    "info": Lazy("workspace_cmds", "info"),
    "db": Lazy("db", "app"),
    "artifacts": Lazy("artifacts", "app"),
    "audit": Lazy("audit", "app"),
    "data": Lazy("data", "app"),
    "features": Lazy("features", "app"),
    "runs": Lazy("runs", "app"),
    "import": Lazy("interop", "app"),
    "models": Lazy("models", "app"),
    "gate": Lazy("gates", "gate_app"),
    "approve": Lazy("gates", "approve"),
    "promote": Lazy("gates", "promote"),
    "pipeline": Lazy("pipeline", "app"),
    "step": Lazy("pipeline", "step_app", hidden=True),
    "scheduler": Lazy("pipeline", "scheduler_cmd"),
    "lineage": Lazy("lineage", "lineage_cmd"),
    "train": Lazy("training", "app"),
    "server": Lazy("server", "server"),
    "users": Lazy("identity", "users_app"),
    "tokens": Lazy("identity", "tokens_app"),
    "login": Lazy("identity", "login"),
    "logout": Lazy("identity", "logout"),
    "keys": Lazy("trust", "keys_app"),
    "compliance": Lazy("trust", "compliance_app"),
    "monitor": Lazy("monitoring", "monitor_app"),
    "monitoring": Lazy("monitoring", "monitoring_app"),
    "serve": Lazy("serving", "serve"),
    "deploy": Lazy("serving", "deploy_app"),
    "rollout": Lazy("serving", "rollout_app"),
    "predict": Lazy("serving", "predict"),
    "build": Lazy("serving", "build"),
    "demo": Lazy("demo", "demo"),
    # -- web UI (issue 18) --
    "ui": Lazy("ui", "ui"),
}


class LazyGroup(TyperGroup):
    """The root group: a sub-command's module is imported and built only when it is named."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        _plain_flags(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = COMMANDS[cmd_name].load(cmd_name)
            _polish(command, ctx)
            self.add_command(command, cmd_name)
        return command


def _polish(command: Any, ctx: Any) -> None:
    """Flags show no ``<bool>`` type in help (a flag takes no value), here and in sub-commands."""
    _plain_flags([*command.params, command.get_help_option(ctx)])
    for sub in getattr(command, "commands", {}).values():
        _polish(sub, ctx)


def _plain_flags(params: list[Any]) -> None:
    for param in params:
        if param is not None and getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


app = typer.Typer(
    name="falaj",
    cls=LazyGroup,
    help="Falaj: one governed workflow from raw data to a monitored model in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        from falaj import __version__

        typer.echo(f"falaj {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", help="Workspace folder (default: $FALAJ_HOME or ~/.falaj)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Settings file (default: $FALAJ_CONFIG or <home>/falaj.toml)."
    ),
    server: str | None = typer.Option(
        None,
        "--server",
        envvar="FALAJ_SERVER_URL",
        help="Work against the Falaj server at this URL (token: $FALAJ_TOKEN or `falaj login`).",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the Falaj version and exit.",
    ),
) -> None:
    st = state(ctx)
    st.home = home
    st.config = config
    st.server = server


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the app and turns Falaj errors into one-line messages.

    Usage mistakes (unknown options, missing arguments, a value outside an option's choices) are
    reported by the command-line parser itself with exit code 2; Falaj errors print one red line
    and exit with their ``exit_code``.
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
