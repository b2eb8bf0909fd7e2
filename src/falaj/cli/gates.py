"""``falaj gate``, ``falaj approve``, ``falaj promote``: promotion gates for CI/CD.

``falaj gate check`` prints every condition with its evidence and exits non-zero when one fails,
so a CI job can block a merge or a deployment on it (see docs/ci-promotion.md).

Identity: in embedded mode the CLI acts as the OS user. ``--as NAME --role ROLE`` lets an
approver act under their own name on a shared workstation; the OS user who typed it is recorded
in the audit event as ``attested_by``, and separation of duties judges it too: the OS user who
created a version cannot approve it by acting as someone else. In server mode the identity comes
from the API token and these flags are not accepted by the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from falaj.cli.common import console, open_workspace, print_json

if TYPE_CHECKING:
    from falaj.registry.gates import GateReport

gate_app = typer.Typer(
    help="Promotion gates: a policy per model, checked with evidence (exit 8 when one fails).",
    no_args_is_help=True,
)
policy_app = typer.Typer(help="The gate policy (YAML) of a registered model.", no_args_is_help=True)
gate_app.add_typer(policy_app, name="policy")

_AS_HELP = (
    "Act as this principal (embedded mode only; your OS user is recorded as the attester, and "
    "may not approve a version it created by acting as someone else). "
    "In server mode the identity comes from your token."
)


def render_report(report: GateReport) -> None:
    """Print each condition with its evidence and PASS/FAIL, then the verdict."""
    title = (
        f"gates of {report.name} v{report.version} (policy revision {report.policy_revision}, "
        f"risk {report.risk})"
    )
    table = Table("kind", "condition", "expected", "actual", "evidence", "result", title=title)
    for c in report.conditions:
        result = "[green]PASS[/]" if c.passed else "[bold red]FAIL[/]"
        evidence = c.evidence
        if c.justification:
            evidence += f"\njustification: {c.justification}"
        cells = (c.kind, c.name, c.expected, c.actual_text(), evidence)
        table.add_row(*map(escape, cells), result)
    console.print(table)
    if report.passed:
        console.print(f"[bold green]PASSED[/]: all {len(report.conditions)} conditions hold")
    else:
        console.print(
            f"[bold red]FAILED[/]: {len(report.failures)} of {len(report.conditions)} "
            "conditions failed"
        )


@gate_app.command("check")
def check(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number or alias."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Evaluate the model's policy for VERSION; exit 0 when every condition passes, else 8."""
    from falaj.registry.errors import GatesFailedError

    with open_workspace(ctx) as ws:
        report = ws.registry.check_gates(model, version)
    if as_json:
        print_json(report.as_dict())
    else:
        render_report(report)
    if not report.passed:
        raise typer.Exit(GatesFailedError.exit_code)


@policy_app.command("set")
def policy_set(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    file: Path = typer.Argument(..., help="Policy file (YAML).", exists=False),
) -> None:
    """Validate FILE and make it the model's policy (a new revision; old ones are kept)."""
    from falaj.errors import InvalidInputError, NotFoundError

    if not file.is_file():
        raise NotFoundError(f"policy file {file} does not exist or is not a regular file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"policy file {file} is not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start} cannot be decoded (save the YAML as UTF-8)"
        ) from exc
    except OSError as exc:
        raise InvalidInputError(f"policy file {file} cannot be read: {exc.strerror}") from exc
    with open_workspace(ctx) as ws:
        policy = ws.registry.set_policy(model, text)
    console.print(
        f"[green]policy set[/] for {model}: revision {policy.revision}, risk {policy.risk}"
    )


@policy_app.command("show")
def policy_show(
    ctx: typer.Context, model: str = typer.Argument(..., help="Registered model name.")
) -> None:
    """Print the policy in force (its YAML text)."""
    with open_workspace(ctx) as ws:
        policy = ws.registry.policy(model)
    console.print(f"# policy of {model}, revision {policy.revision}", highlight=False)
    console.print(policy.text, highlight=False, markup=False)


@gate_app.command("list-approvals")
def approvals(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., min=1, help="Version number."),
) -> None:
    """Who approved VERSION, with which roles and comments, under which policy revision and
    after how many evidence items (`gate check` says which approvals still count)."""
    with open_workspace(ctx) as ws:
        items = ws.registry.approvals(model, version)
    table = Table("when (UTC)", "approver", "roles", "policy rev", "evidence seen", "comment")
    for a in items:
        table.add_row(
            a.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            a.approver,
            ", ".join(a.roles),
            "-" if a.policy_revision is None else str(a.policy_revision),
            "-" if a.evidence_seen is None else str(a.evidence_seen),
            escape(a.comment),
        )
    console.print(table)


@gate_app.command("list-promotions")
def promotions(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    as_json: bool = typer.Option(False, "--json", help="Full change records as JSON."),
) -> None:
    """The change record of every promotion of MODEL, oldest first."""
    with open_workspace(ctx) as ws:
        records = ws.registry.promotions(model)
    if as_json:
        print_json([r.as_dict() for r in records])
        return
    table = Table("when (UTC)", "alias", "from", "to", "requester", "approvers", "risk", "reason")
    for r in records:
        table.add_row(
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.alias,
            f"v{r.from_version}" if r.from_version else "-",
            f"v{r.version}",
            r.requester,
            ", ".join(a["approver"] for a in r.approvers),
            r.risk,
            escape(r.reason),
        )
    console.print(table)


def approve(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., min=1, help="Version number."),
    comment: str = typer.Option(..., "--comment", help="What you reviewed and why you approve."),
    as_name: str | None = typer.Option(None, "--as", help=_AS_HELP),
    roles: list[str] = typer.Option(
        [], "--role", help="A role of the --as principal (repeatable), e.g. risk-approver."
    ),
) -> None:
    """Approve a model version. Whoever created the version may not approve it."""
    from falaj.errors import InvalidInputError
    from falaj.governance.principal import Principal

    if roles and as_name is None:
        raise InvalidInputError("--role needs --as NAME: roles belong to the principal you act as")
    with open_workspace(ctx) as ws:
        if as_name is None:
            approval = ws.registry.approve(model, version, comment=comment)
        else:
            acting = ws.as_principal(Principal(as_name, roles=frozenset(roles)))
            approval = acting.registry.approve(
                model, version, comment=comment, attested_by=Principal.local().name
            )
    console.print(
        f"[green]approved[/] {model} v{version} by {approval.approver} "
        f"({', '.join(approval.roles) or 'no roles'})"
    )


def promote(
    ctx: typer.Context,
    model: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., min=1, help="Version number."),
    alias: str = typer.Option("champion", "--alias", help="The alias to move."),
    reason: str = typer.Option(..., "--reason", help="Why (goes into the change record)."),
    as_json: bool = typer.Option(False, "--json", help="Print the change record as JSON."),
) -> None:
    """Move ALIAS to VERSION when every gate passes; writes a change record to the audit trail.

    A refused promotion changes nothing, is audited as a failure and exits 8.
    """
    with open_workspace(ctx) as ws:
        record = ws.registry.promote(model, version, alias=alias, reason=reason)
    if as_json:
        print_json(record.as_dict())
        return
    before = f"v{record.from_version}" if record.from_version else "nothing"
    console.print(
        f"[green]promoted[/] {model} v{record.version} to {alias} (was {before}); "
        f"change record {record.id}, risk {record.risk}, "
        f"approvers: {', '.join(a['approver'] for a in record.approvers) or 'none'}"
    )


# The spellings of the previous release, hidden, kept for one release.
gate_app.command("approvals", hidden=True, help="Old spelling of list-approvals.")(approvals)
gate_app.command("promotions", hidden=True, help="Old spelling of list-promotions.")(promotions)
