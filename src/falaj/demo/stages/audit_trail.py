"""Last stage: who may do what, and the audit ledger the demo wrote (who, on whose authority,
what, which resource, outcome)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from falaj.errors import PermissionDeniedError
from falaj.governance import Binding, Principal, RoleBindingAuthorizer
from falaj.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from falaj.demo.runner import DemoContext

MODEL = "credit-risk"


def run(ctx: DemoContext) -> None:
    _access_control(ctx)
    events = ctx.ws.audit.list(limit=1000, newest_first=False)
    counts: dict[str, int] = {}
    for event in events:
        counts[event.action] = counts.get(event.action, 0) + 1
    table = Table("action", "events", title=f"{len(events)} audit events, one per change")
    for action, count in sorted(counts.items()):
        table.add_row(action, str(count))
    ctx.console.print(table)
    attested = [
        e
        for e in events
        if e.action == "model.approve" and e.outcome == "success" and "authenticated" in e.details
    ]
    if attested:
        e = attested[-1]
        ctx.say(
            f"acting as someone else is recorded beside the real identity: #{e.seq} "
            f"{e.action} by {e.principal} (authenticated as {e.details['authenticated']})"
        )
    ctx.results["audit_events"] = len(events)


def _access_control(ctx: DemoContext) -> None:
    """The same workspace under role-based access control (what the server runs): default deny,
    exact actions, every refusal audited."""
    policy = RoleBindingAuthorizer([Binding("vera", "viewer")])
    vera = Principal("vera")
    with Workspace.open(settings=ctx.ws.settings, principal=vera, authorizer=policy) as as_vera:
        versions = as_vera.registry.list_versions(MODEL) if _has_model(ctx) else []
        ctx.say(f"vera (viewer) reads {len(versions)} version(s) of {MODEL}: allowed")
        try:
            as_vera.registry.promote(MODEL, 1, alias="shadow", reason="I would like to")
            ctx.say("[red]a viewer promoted a model[/]")
        except PermissionDeniedError as exc:
            ctx.say(f"vera tries to promote: [yellow]refused[/] ({escape(str(exc))})")
        try:
            as_vera.datasets.register("vera-upload", _tiny_frame())
            ctx.say("[red]a viewer registered data[/]")
        except PermissionDeniedError:
            ctx.say("vera tries to register data: [yellow]refused[/] before a byte was stored")
    denied = ctx.ws.audit.list(principal="vera", outcome="denied")
    ctx.say(f"both refusals are in the audit trail: {', '.join(e.action for e in denied)}")


def _has_model(ctx: DemoContext) -> bool:
    return any(m.name == MODEL for m in ctx.ws.registry.list_models())


def _tiny_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"x": [1, 2, 3]})
