"""``falaj audit``: read the append-only audit ledger."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from falaj.cli.choices import Outcome
from falaj.cli.common import console, err_console, open_workspace, print_json

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


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="A checkpoint exported earlier (`falaj audit checkpoint --out`): also detects "
        "records cut off the end of the ledger since then.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Verify the tamper-evident chain: exit 0 when intact, 8 naming the first bad record."""
    from falaj.governance.ledger import Checkpoint

    anchor = None
    if checkpoint is not None:
        anchor = Checkpoint.from_json(_read_text(checkpoint), source=f"checkpoint {checkpoint}")
    with open_workspace(ctx) as ws:
        report = ws.audit.verify(checkpoint=anchor)
    if as_json:
        print_json(report.as_dict())
    elif report.ok:
        console.print(
            f"[green]audit chain intact[/]: {report.checked} records after genesis "
            f"seq {report.genesis_seq}, head seq {report.head_seq}"
            + (
                f", {report.checkpoints_checked} checkpoint(s) matched"
                if anchor or report.checkpoints_checked
                else ""
            )
        )
    else:
        first = report.first_bad
        assert first is not None
        err_console.print(f"[red]audit chain broken at seq {first.seq}[/]: {first.problem}")
        for problem in report.problems[1:]:
            err_console.print(f"  also seq {problem.seq}: {problem.problem}")
    if not report.ok:
        raise typer.Exit(8)


@app.command("checkpoint")
def checkpoint_(
    ctx: typer.Context,
    out: Path = typer.Option(
        ..., "--out", help="File to write the signed chain head to (keep it outside the database)."
    ),
) -> None:
    """Record the chain head (seq + MAC, signed) and export it to anchor outside the database."""
    with open_workspace(ctx) as ws:
        cp = ws.audit.checkpoint()
    out.write_text(cp.to_json() + "\n", encoding="utf-8")
    console.print(f"checkpoint at seq {cp.seq} written to {out}")


@app.command("export")
def export(
    ctx: typer.Context,
    out: Path | None = typer.Option(
        None, "--out", help="JSON Lines file to write (default: standard output)."
    ),
    since: int = typer.Option(0, "--since", min=0, help="Only records after this seq."),
) -> None:
    """Export the ledger as JSON Lines for a SIEM (each line keeps seq, prev_mac and mac)."""
    import sys

    with open_workspace(ctx) as ws:
        if out is None:
            ws.audit.export(sys.stdout, since_seq=since)
            return
        tmp = out.with_name(f".{out.name}.part")
        with tmp.open("w", encoding="utf-8") as fh:
            count = ws.audit.export(fh, since_seq=since)
        tmp.replace(out)
    err_console.print(f"{count} records written to {out}")


def _read_text(path: Path) -> str:
    from falaj.errors import InvalidInputError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"checkpoint file {path} cannot be read: {exc.strerror}") from None
