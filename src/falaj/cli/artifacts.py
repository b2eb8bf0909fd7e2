"""``falaj artifacts``: put, get, verify and list content-addressed artifacts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json

app = typer.Typer(help="Content-addressed artifact store.", no_args_is_help=True)


@app.command("put")
def put(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="File to store."),
    media_type: str | None = typer.Option(None, help="MIME type (guessed from the name)."),
) -> None:
    """Store a file (streamed in chunks); prints its sha256 digest."""
    with open_workspace(ctx) as ws:
        meta = ws.artifacts.put_file(path, media_type=media_type)
    console.print(f"sha256:{meta.digest}  {meta.size} bytes  {meta.media_type}", highlight=False)


@app.command("get")
def get(
    ctx: typer.Context,
    digest: str = typer.Argument(
        ..., help="sha256 digest (with or without 'sha256:'), or a unique prefix of it."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the bytes."),
) -> None:
    """Write an artifact to a file; the file appears only if its digest checks out."""
    from falaj.artifacts.lookup import resolve_digest

    with open_workspace(ctx) as ws:
        path = ws.artifacts.get_file(resolve_digest(ws.store, digest), output)
    console.print(f"wrote {path}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    digest: str | None = typer.Argument(
        None, help="One digest (or a unique prefix); default: every artifact."
    ),
    orphans: bool = typer.Option(
        False,
        "--orphans",
        help="Also list stored objects that no index row names (remove with `artifacts gc`).",
    ),
) -> None:
    """Re-hash stored objects; exit 5 if any is damaged or missing."""
    from falaj.artifacts.lookup import resolve_digest

    with open_workspace(ctx) as ws:
        report = ws.artifacts.verify(
            None if digest is None else resolve_digest(ws.store, digest), orphans=orphans
        )
    for d, why in report.damaged.items():
        console.print(f"[red]damaged[/] {d}: {why}", highlight=False)
    for d in report.missing:
        console.print(f"[red]missing[/] {d}", highlight=False)
    for d in report.orphans:
        console.print(f"[yellow]orphan[/] {d}", highlight=False)
    line = f"checked {report.checked}: {len(report.damaged)} damaged, {len(report.missing)} missing"
    if orphans:
        line += f", {len(report.orphans)} orphaned (remove with `falaj artifacts gc`)"
    console.print(line)
    if not report.ok:
        raise typer.Exit(5)


@app.command("gc")
def gc(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; remove nothing."),
    min_age: float | None = typer.Option(
        None,
        "--min-age",
        min=0,
        help="Seconds an orphan must be untouched before it goes (default: 6 hours).",
    ),
) -> None:
    """Remove orphaned objects (stored, never indexed) and temporaries left by killed writers."""
    with open_workspace(ctx) as ws:
        report = ws.artifacts.gc(dry_run=dry_run, min_age_s=min_age)
    verb = "would remove" if report.dry_run else "removed"
    for d in report.orphans:
        console.print(f"{verb} orphan {d}", highlight=False)
    for name in report.temporaries:
        console.print(f"{verb} temporary tmp/{name}", highlight=False)
    console.print(
        f"{verb} {len(report.orphans)} orphaned objects and "
        f"{len(report.temporaries)} stale temporaries"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: int = typer.Option(50, min=1, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List stored artifacts, newest first."""
    with open_workspace(ctx) as ws:
        items = ws.artifacts.list(limit=limit)
    if as_json:
        print_json([vars(i) for i in items])
        return
    table = Table("digest", "size", "media type", "stored by", "at", "region")
    for i in items:
        table.add_row(
            i.digest[:16],
            str(i.size),
            i.media_type,
            i.created_by,
            i.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            i.region,
        )
    console.print(table)
