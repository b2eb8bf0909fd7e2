"""Last stage: show the audit ledger the demo wrote (who, what, which resource, outcome)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext


def run(ctx: DemoContext) -> None:
    events = ctx.ws.audit.list(limit=1000, newest_first=False)
    counts: dict[str, int] = {}
    for event in events:
        counts[event.action] = counts.get(event.action, 0) + 1
    table = Table("action", "events", title=f"{len(events)} audit events, one per change")
    for action, count in sorted(counts.items()):
        table.add_row(action, str(count))
    ctx.console.print(table)
    ctx.results["audit_events"] = len(events)
