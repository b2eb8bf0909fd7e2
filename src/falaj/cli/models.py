"""``falaj models``: registered models, versions and aliases with their history."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json

if TYPE_CHECKING:
    from falaj.registry.models import ModelVersion

app = typer.Typer(
    help="Model registry: registered models, versions, aliases with full history.",
    no_args_is_help=True,
)
alias_app = typer.Typer(
    help="Aliases (champion, challenger...): set, delete, history, and 'which version at T'.",
    no_args_is_help=True,
)
app.add_typer(alias_app, name="alias")


def _stamp(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _version_dict(mv: ModelVersion) -> dict[str, Any]:
    return {
        "name": mv.name,
        "version": mv.version,
        "status": mv.status,
        "run_id": mv.run_id,
        "source": mv.source_uri,
        "artifact_digest": mv.artifact_digest,
        "flavor": mv.flavor,
        "aliases": list(mv.aliases),
        "tags": mv.tags,
        "description": mv.description,
        "created_by": mv.created_by,
        "created_at": mv.created_at.isoformat(),
    }


@app.command("list")
def list_(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List registered models with their latest version and aliases."""
    with open_workspace(ctx) as ws:
        models = ws.registry.list_models()
    if as_json:
        print_json(
            [
                {
                    "name": m.name,
                    "latest_version": m.latest_version,
                    "aliases": m.aliases,
                    "description": m.description,
                    "created_by": m.created_by,
                    "created_at": m.created_at.isoformat(),
                }
                for m in models
            ]
        )
        return
    table = Table("model", "latest", "aliases", "created by", "created (UTC)")
    for m in models:
        aliases = ", ".join(f"{a}=v{v}" for a, v in m.aliases.items())
        table.add_row(m.name, str(m.latest_version), aliases, m.created_by, _stamp(m.created_at))
    console.print(table)


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    version: str | None = typer.Argument(None, help="Version number, alias or 'latest'."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a registered model, or one of its versions (by number or alias)."""
    with open_workspace(ctx) as ws:
        if version is None:
            model = ws.registry.get_model(name)
            if as_json:
                print_json(
                    {
                        "name": model.name,
                        "description": model.description,
                        "latest_version": model.latest_version,
                        "aliases": model.aliases,
                        "created_by": model.created_by,
                        "created_at": model.created_at.isoformat(),
                    }
                )
                return
            console.print(f"[bold]{model.name}[/]  latest version {model.latest_version}")
            console.print(f"  description  {escape(model.description or '-')}", highlight=False)
            console.print(f"  created      {_stamp(model.created_at)} by {model.created_by}")
            for alias, number in model.aliases.items():
                console.print(f"  alias        {alias} -> v{number}", highlight=False)
            return
        mv = ws.registry.get_version(name, version)
        evidence = ws.registry.evidence(name, mv.version)
    if as_json:
        data = _version_dict(mv)
        data["evidence"] = [{"kind": e.kind, "id": e.id} for e in evidence]
        print_json(data)
        return
    console.print(f"[bold]{mv.name}[/] version {mv.version}  [{mv.status}]", highlight=False)
    for label, value in (
        ("source", mv.source_uri),
        ("artifact", f"sha256:{mv.artifact_digest}"),
        ("flavor", mv.flavor),
        ("aliases", ", ".join(mv.aliases) or "-"),
        ("tags", ", ".join(f"{k}={v}" for k, v in mv.tags.items()) or "-"),
        ("description", mv.description or "-"),
        ("created", f"{_stamp(mv.created_at)} by {mv.created_by}"),
        ("evidence", ", ".join(e.kind for e in evidence) or "-"),
    ):
        console.print(f"  {label:<12} {escape(value)}", highlight=False)


@app.command("list-versions")
def versions(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    include_deleted: bool = typer.Option(False, "--all", help="Include DELETED versions."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List a model's versions, newest first."""
    with open_workspace(ctx) as ws:
        items = ws.registry.list_versions(name, include_deleted=include_deleted)
    if as_json:
        print_json([_version_dict(mv) for mv in items])
        return
    table = Table("version", "status", "aliases", "flavor", "run", "created by", "created (UTC)")
    for mv in items:
        table.add_row(
            str(mv.version),
            mv.status,
            ", ".join(mv.aliases),
            mv.flavor,
            mv.run_id[:12],
            mv.created_by,
            _stamp(mv.created_at),
        )
    console.print(table)


@app.command("register")
def register(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name (created on first use)."),
    model_uri: str = typer.Argument(
        ..., help="The logged model: runs:/<run_id>/<name> (the run id or a unique prefix)."
    ),
    description: str | None = typer.Option(None, help="What this version is."),
) -> None:
    """Register a logged model as the next version of NAME."""
    from falaj.cli.runs import resolve_run

    with open_workspace(ctx) as ws:
        run_part, sep, model_name = model_uri.removeprefix("runs:/").partition("/")
        if model_uri.startswith("runs:/") and sep and len(run_part) < 32:
            model_uri = f"runs:/{resolve_run(ws, run_part).id}/{model_name}"
        mv = ws.registry.create_version(name, model_uri, description=description)
    console.print(f"[green]registered[/] {mv.name} version {mv.version} from {mv.source_uri}")


_NAME = typer.Argument(..., help="Registered model name.")
_VERSION = typer.Argument(..., min=1, help="Version number.")
_REASON = typer.Option("", help="Why (kept in the audit trail).")


def _change_status(ctx: typer.Context, name: str, version: int, reason: str, op: str) -> None:
    """archive / restore / delete: one registry call, one line saying the new status."""
    with open_workspace(ctx) as ws:
        change = {
            "archive": ws.registry.archive,
            "restore": ws.registry.restore,
            "delete": ws.registry.delete_version,
        }[op]
        mv = change(name, version, reason=reason)
    console.print(f"{mv.name} version {mv.version} is now {mv.status}")


@app.command("archive")
def archive(
    ctx: typer.Context, name: str = _NAME, version: int = _VERSION, reason: str = _REASON
) -> None:
    """Archive a version (refused while an alias points at it)."""
    _change_status(ctx, name, version, reason, "archive")


@app.command("restore")
def restore(
    ctx: typer.Context, name: str = _NAME, version: int = _VERSION, reason: str = _REASON
) -> None:
    """Bring an ARCHIVED version back to READY."""
    _change_status(ctx, name, version, reason, "restore")


@app.command("delete")
def delete(
    ctx: typer.Context, name: str = _NAME, version: int = _VERSION, reason: str = _REASON
) -> None:
    """Delete a version (soft: the row, its alias history and the audit trail stay)."""
    _change_status(ctx, name, version, reason, "delete")


@alias_app.command("set")
def alias_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str = typer.Argument(..., help="e.g. champion, challenger."),
    version: int = typer.Argument(..., min=1, help="Version number the alias points at."),
    reason: str = typer.Option(..., "--reason", help="Why the alias moves (kept forever)."),
) -> None:
    """Point ALIAS at VERSION (use `falaj promote` to move it through the gates)."""
    with open_workspace(ctx) as ws:
        ws.registry.set_alias(name, alias, version, reason=reason)
    console.print(f"{name}: alias {alias} -> v{version}")


@alias_app.command("delete")
def alias_delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str = typer.Argument(..., help="Alias name, e.g. champion."),
    reason: str = typer.Option(..., "--reason", help="Why the alias is removed."),
) -> None:
    """Remove ALIAS (its history stays)."""
    with open_workspace(ctx) as ws:
        ws.registry.delete_alias(name, alias, reason=reason)
    console.print(f"{name}: alias {alias} deleted")


@alias_app.command("history")
def alias_history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str | None = typer.Argument(None, help="One alias; default: every alias."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every move of an alias: who, when, why, from which version to which."""
    with open_workspace(ctx) as ws:
        moves = ws.registry.alias_history(name, alias)
    if as_json:
        print_json(
            [
                {
                    "alias": m.alias,
                    "from_version": m.from_version,
                    "to_version": m.to_version,
                    "moved_by": m.moved_by,
                    "moved_at": m.moved_at.isoformat(),
                    "reason": m.reason,
                }
                for m in moves
            ]
        )
        return
    table = Table("when (UTC)", "alias", "from", "to", "who", "why")
    for m in moves:
        table.add_row(
            _stamp(m.moved_at),
            m.alias,
            f"v{m.from_version}" if m.from_version else "-",
            f"v{m.to_version}" if m.to_version else "(deleted)",
            m.moved_by,
            escape(m.reason),
        )
    console.print(table)


@alias_app.command("at")
def alias_at(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    alias: str = typer.Argument(..., help="Alias name, e.g. champion."),
    when: str = typer.Argument(..., help="ISO time, e.g. 2026-11-26T10:00:00Z (UTC if no zone)."),
) -> None:
    """Which version ALIAS pointed at, at time WHEN; exit 3 if it pointed at none."""
    from falaj.errors import InvalidInputError

    try:
        moment = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"when {when!r} is invalid: expected an ISO time like 2026-11-26T10:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    with open_workspace(ctx) as ws:
        version = ws.registry.alias_at(name, alias, moment)
    if version is None:
        console.print(f"{name}: alias {alias} pointed at no version at {moment.isoformat()}")
        raise typer.Exit(3)
    console.print(f"{name}: alias {alias} pointed at v{version} at {moment.isoformat()}")


# The spelling of the previous release, hidden, kept for one release.
app.command("versions", hidden=True, help="Old spelling of list-versions.")(versions)


@app.command("verify")
def verify(
    ctx: typer.Context,
    name: str = _NAME,
    version: str = typer.Argument(..., help="Version number, alias (champion) or 'latest'."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Verify a version's signature and every file of it: exit 0 valid, 8 not."""
    with open_workspace(ctx) as ws:
        check = ws.registry.verify_signature(name, int(version) if version.isdigit() else version)
    if as_json:
        print_json(check.as_dict())
    elif check.ok:
        console.print(f"[green]signature valid[/]: {escape(check.detail)}")
    else:
        from falaj.cli.common import err_console

        err_console.print(f"[red]signature {check.status}[/]: {escape(check.detail)}")
    if not check.ok:
        raise typer.Exit(8)


@app.command("sign")
def sign(ctx: typer.Context, name: str = _NAME, version: int = _VERSION) -> None:
    """Sign a version registered before signing was on (a signed version is never re-signed)."""
    with open_workspace(ctx) as ws:
        key_id = ws.registry.sign_version(name, version)
    console.print(f"model {escape(name)} version {version} signed with {key_id}")
