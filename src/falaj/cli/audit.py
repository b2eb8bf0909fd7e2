"""``falaj audit``: read the append-only audit ledger."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table

from falaj.cli.choices import Outcome
from falaj.cli.common import console, open_workspace, print_json

app = typer.Typer(
    help="The audit ledger: who did what, to which resource, when.", no_args_is_help=True
)


_TYPED = re.compile(r"^(?P<type>[a-z][a-z0-9_]{0,63}):(?P<id>.+)$")


def split_resource(text: str | None) -> tuple[str, str] | None:
    """``("model_version", "churn/1")`` for the printed form ``model_version:churn/1``."""
    match = _TYPED.match(text or "")
    return None if match is None else (match["type"], match["id"])


@app.command("list")
def list_(
    ctx: typer.Context,
    principal: str | None = typer.Option(None, help="Only this principal."),
    action: str | None = typer.Option(None, help="Only this action ('model.*' for a prefix)."),
    resource: str | None = typer.Option(
        None,
        help="Only this resource: TYPE:ID as the table prints it (model_version:churn/1) or an id.",
    ),
    outcome: Outcome | None = typer.Option(None, help="Only events with this outcome."),
    limit: int = typer.Option(50, min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List audit events, newest first."""
    filters: dict[str, Any] = {
        "principal": principal,
        "action": action,
        "outcome": outcome.value if outcome else None,
        "limit": limit,
    }
    with open_workspace(ctx) as ws:
        events = []
        typed = split_resource(resource)
        if typed is not None:  # the printed TYPE:ID form
            events = ws.audit.list(resource_type=typed[0], resource_id=typed[1], **filters)
        if not events:  # a bare id (which may itself hold ':')
            events = ws.audit.list(resource_id=resource, **filters)
    if as_json:
        print_json([vars(e) for e in events])
        return
    table = Table("#", "when (UTC)", "who", "action", "resource", "outcome", "request")
    for e in events:
        style = {"success": "green", "failure": "red", "denied": "yellow"}.get(e.outcome, "")
        table.add_row(
            str(e.seq),
            e.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.principal,
            e.action,
            f"{e.resource_type}:{e.resource_id}"[:60],
            f"[{style}]{e.outcome}[/]",
            e.request_id[:8],
        )
    console.print(table)
