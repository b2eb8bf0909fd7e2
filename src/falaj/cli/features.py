"""``falaj features``: apply definitions, list and show them, materialize, look values up."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.choices import FeatureKind
from falaj.cli.common import console, open_workspace, print_json

app = typer.Typer(
    help="Feature store: entities, feature views, services, online values.",
    no_args_is_help=True,
)

_INT = re.compile(r"^-?\d{1,18}$")


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="YAML file of entities, feature_views, feature_services."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Register the definitions in FILE: a changed one gets a new version, the rest stay."""
    with open_workspace(ctx) as ws:
        result = ws.features.apply(file)
    if as_json:
        print_json(result.as_dict())
        return
    for reg in result.changed:
        console.print(f"[green]applied[/] {reg.kind} {escape(reg.id)}")
    console.print(f"{len(result.changed)} changed, {len(result.unchanged)} unchanged")


@app.command("list")
def list_(
    ctx: typer.Context,
    kind: FeatureKind | None = typer.Option(None, "--kind", help="Only this kind."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The latest version of every definition."""
    with open_workspace(ctx) as ws:
        found = ws.features.list(kind.value if kind else None)
    if as_json:
        print_json([r.as_dict() for r in found])
        return
    table = Table("kind", "name", "version", "created by", "created at")
    for reg in found:
        table.add_row(
            reg.kind,
            escape(reg.name),
            str(reg.version),
            escape(reg.created_by),
            reg.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Definition name."),
    kind: FeatureKind = typer.Option(
        FeatureKind.feature_view, "--kind", help="The definition's kind."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A definition's latest spec, its versions, and (for a view) its online freshness."""
    with open_workspace(ctx) as ws:
        history = ws.features.history(name, kind=kind)
        fresh = (
            [f for f in ws.features.freshness() if f.view == name] if kind == "feature_view" else []
        )
    latest = history[-1]
    doc: dict[str, Any] = {
        **latest.as_dict(),
        "versions": [
            {
                "version": r.version,
                "created_at": r.created_at.isoformat(),
                "created_by": r.created_by,
            }
            for r in history
        ],
        "freshness": fresh[0].as_dict() if fresh else None,
    }
    if as_json:
        print_json(doc)
        return
    console.print(f"[bold]{latest.kind} {escape(latest.id)}[/]")
    for key, value in latest.definition.spec().items():
        if value not in (None, {}, []):
            console.print(f"  {key}: {escape(str(value))}")
    console.print(f"  versions: {', '.join(str(r.version) for r in history)}")
    if fresh:
        f = fresh[0]
        state = "[red]stale[/]" if f.stale else "[green]fresh[/]"
        mark = f.watermark.isoformat() if f.watermark else "never materialized"
        console.print(
            f"  online: {state} (watermark {mark}, ttl {f.as_dict()['ttl']}, "
            f"{f.rows_written} rows, {f.online_store or '-'})"
        )


def _parse_end(value: str | None) -> dt.datetime | None:
    from falaj.errors import InvalidInputError

    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            f"--end {value!r} is invalid: expected an ISO time like 2026-01-31T00:00:00+00:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@app.command("materialize")
def materialize(
    ctx: typer.Context,
    end: str | None = typer.Option(None, "--end", help="Up to this ISO time (default: now, UTC)."),
    view: list[str] = typer.Option([], "--view", help="Only this feature view; repeatable."),
    full: bool = typer.Option(False, "--full", help="Rewrite from scratch, not incrementally."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Fill the online store with the latest values (incremental from each view's watermark)."""
    moment = _parse_end(end)
    with open_workspace(ctx) as ws:
        results = ws.features.materialize(moment, views=view or None, full=full)
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        how = "full" if r.full else f"since {r.since.isoformat() if r.since else '-'}"
        console.print(
            f"{escape(r.view)}@{r.view_version}: {r.rows_written} rows ({how}) "
            f"up to {r.end.isoformat()}"
        )


def _parse_entities(values: list[str]) -> dict[str, list[Any]]:
    from falaj.errors import InvalidInputError

    out: dict[str, list[Any]] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise InvalidInputError(
                f"--entity {item!r} is invalid: expected KEY=VALUE[,VALUE...] (e.g. customer_id=42)"
            )
        out.setdefault(key.strip(), []).extend(
            int(v) if _INT.match(v) else v for v in (p.strip() for p in raw.split(",")) if v
        )
    if not out:
        raise InvalidInputError("give at least one --entity KEY=VALUE")
    return out


@app.command("get")
def get(
    ctx: typer.Context,
    entity: list[str] = typer.Option(
        [], "--entity", help="KEY=VALUE[,VALUE...] (e.g. customer_id=1,2); repeatable."
    ),
    feature: list[str] = typer.Option([], "--feature", help="VIEW:FEATURE; repeatable."),
    service: str | None = typer.Option(None, "--service", help="A feature service's features."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Online values for entity keys (stale values read as missing, with VIEW__fresh false)."""
    from falaj.errors import InvalidInputError

    if bool(feature) == bool(service):
        raise InvalidInputError("give either --feature VIEW:FEATURE (repeatable) or --service NAME")
    entities = _parse_entities(entity)
    with open_workspace(ctx) as ws:
        columns = ws.features.read_online(entities, service or feature)
    if as_json:
        print_json(columns)
        return
    table = Table(*columns)
    rows = len(next(iter(columns.values()), []))
    for i in range(rows):
        table.add_row(*(escape("" if v[i] is None else str(v[i])) for v in columns.values()))
    console.print(table)
