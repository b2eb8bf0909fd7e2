"""Hostile input, refused: part of the foundation stage of ``falaj demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from rich.markup import escape

from falaj.errors import FalajError

if TYPE_CHECKING:
    from falaj.demo.runner import DemoContext

_LAUGHS = (
    "["
    + ", ".join(
        ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        + [f"&a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    )
    + "]"
)


def show(ctx: DemoContext) -> None:
    """A YAML bomb, a spec that names os.system, an audit rewrite: each refused, nothing run."""
    from falaj.pipelines.spec import parse_spec
    from falaj.yamlsafe import load_yaml

    try:
        load_yaml(f"name: bomb\nparams: {{p: {_LAUGHS}}}\n", source="bomb.yaml")
        ctx.say("[red]a billion-laughs YAML file was expanded[/]")
    except FalajError as exc:
        ctx.say(f"a {len(_LAUGHS):,}-byte billion-laughs YAML file: refused ({escape(str(exc))})")
    spec = {"name": "attack", "steps": {"s": {"uses": "os:system", "params": {"command": "id"}}}}
    try:
        parse_spec(spec, where="attack.yaml")
        ctx.say("[red]a spec naming os:system was accepted[/]")
    except FalajError as exc:
        ctx.say(f"a spec with 'uses: os:system': refused ({escape(str(exc))})")
    if ctx.ws.store.engine.dialect.name != "sqlite":
        return
    columns = "seq, event_id, occurred_at, principal, principal_kind, action, resource_type, "
    columns += "resource_id, outcome, request_id, region, details"
    rewrite = (
        f"INSERT OR REPLACE INTO audit_events ({columns}) SELECT "
        + columns.replace("principal,", "'mallory',", 1)
        + " FROM audit_events ORDER BY seq LIMIT 1"
    )
    try:
        with ctx.ws.store.transaction() as conn:
            conn.execute(sa.text(rewrite))
        ctx.say("[red]an audit event was rewritten with INSERT OR REPLACE[/]")
    except sa.exc.DBAPIError as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        ctx.say(f"rewriting an audit event with INSERT OR REPLACE: refused ({escape(reason)})")
