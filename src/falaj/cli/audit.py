"""``falaj audit``: read the append-only audit ledger."""

from __future__ import annotations

import typer
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json

app = typer.Typer(
    help="The audit ledger: who did what, to which resource, when.", no_args_is_help=True
)


@app.command("list")
def list_(
    ctx: typer.Context,
    principal: str | None = typer.Option(None, help="Only this principal."),
    action: str | None = typer.Option(None, help="Only this action ('model.*' for a prefix)."),
    resource: str | None = typer.Option(None, help="Only this resource id."),
    outcome: str | None = typer.Option(None, help="success, failure or denied."),
    limit: int = typer.Option(50, min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List audit events, newest first."""
    with open_workspace(ctx) as ws:
        events = ws.audit.list(
            principal=principal, action=action, resource_id=resource, outcome=outcome, limit=limit
        )
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
