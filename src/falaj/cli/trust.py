"""``falaj keys`` (encryption at rest) and ``falaj compliance`` (the compliance report)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from falaj.cli.common import console, err_console, open_workspace, print_json

keys_app = typer.Typer(
    help="Master keys of encryption at rest: list, rotate (re-wrap), shred (erase).",
    no_args_is_help=True,
)
compliance_app = typer.Typer(
    help="Compliance: where data and models live, encryption, signatures, audit chain.",
    no_args_is_help=True,
)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the master keys (current, retired, destroyed)."""
    with open_workspace(ctx) as ws:
        keys = ws.keys.list()
    if as_json:
        print_json([vars(k) for k in keys])
        return
    table = Table("key id", "current", "destroyed")
    for k in keys:
        table.add_row(k.key_id, "yes" if k.current else "", "yes" if k.destroyed else "")
    console.print(table)


@keys_app.command("rotate")
def keys_rotate(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Make a new master key current and re-wrap every data key (data is not re-encrypted)."""
    with open_workspace(ctx) as ws:
        report = ws.keys.rotate()
    if as_json:
        print_json(vars(report))
        return
    console.print(
        f"master key {report.previous_key_id} -> {report.key_id}: {report.rewrapped} data keys "
        f"re-wrapped, {len(report.unreadable)} unreadable"
    )


@keys_app.command("shred")
def keys_shred(
    ctx: typer.Context,
    key_id: str = typer.Argument(
        ..., help="A master key id (mk-...) or an artifact digest (sha256:...) to erase."
    ),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the data becomes unreadable."),
) -> None:
    """Crypto-shred: destroy a key so what it protects can never be read again."""
    if not yes:
        err_console.print("refusing to shred without --yes: the data becomes unreadable for good")
        raise typer.Exit(2)
    with open_workspace(ctx) as ws:
        report = ws.keys.shred(key_id)
    console.print(f"shredded {report.kind} key {report.key_id}: {report.objects} object(s) erased")


@compliance_app.command("report")
def report(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    html: Path | None = typer.Option(
        None, "--html", help="Write the report as one self-contained HTML file."
    ),
) -> None:
    """Where every dataset and model lives, encryption, signatures, audit chain, violations."""
    from falaj.governance.compliance import render_html

    with open_workspace(ctx) as ws:
        result = ws.compliance_report()
    if html is not None:
        tmp = html.with_name(f".{html.name}.part")
        tmp.write_text(render_html(result), encoding="utf-8")
        tmp.replace(html)
    if as_json:
        print_json(result.as_dict())
        return
    verdict = "[green]compliant[/]" if result.ok else f"[red]{len(result.violations)} finding(s)[/]"
    console.print(
        f"compliance: {verdict}; {len(result.datasets)} dataset version(s), "
        f"{len(result.models)} model version(s); audit chain "
        + ("intact" if result.audit.get("ok") else "BROKEN")
    )
    for line in result.violations:
        console.print(f"  - {line}", markup=False)
    if html is not None:
        console.print(f"HTML report written to {html}")
