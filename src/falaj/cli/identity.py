"""``falaj users``, ``falaj tokens``, ``falaj login``/``logout``: identities and credentials.

``users`` and ``tokens`` work on the workspace directly (its owner bootstraps the first admin)
or, with ``--server``, through the API (admins only).
"""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from falaj.cli.common import console, err_console, open_workspace, print_json, state

__all__ = ["login", "logout", "tokens_app", "users_app"]

users_app = typer.Typer(
    help="Users and service accounts, and the roles they hold.", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)

_ROLE_HELP = "viewer, data-scientist, ml-engineer, approver, auditor or admin."


def _scope_text(scope: str) -> str:
    return "everything" if scope == "*" else scope


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="User (or service account) name."),
    role: str | None = typer.Option(None, "--role", help=f"A first role: {_ROLE_HELP}"),
    project: str | None = typer.Option(
        None, "--project", help="Hold the role on this project only."
    ),
    resource: str | None = typer.Option(
        None, "--resource", help="Hold the role on one resource only (KIND:ID, e.g. model:credit)."
    ),
    service: bool = typer.Option(False, "--service", help="A service account (a machine)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create a user or service account, optionally with a role binding."""
    with open_workspace(ctx) as ws:
        user = ws.identity.create_user(
            name,
            role=role,
            kind="service" if service else "user",
            project=project,
            resource=resource,
        )
    if as_json:
        print_json(
            {"name": user.name, "kind": user.kind, "roles": [vars(b) for b in user.bindings]}
        )
        return
    roles = ", ".join(f"{b.role} on {_scope_text(b.scope)}" for b in user.bindings) or "no role"
    console.print(f"created {user.kind} [bold]{user.name}[/] ({roles})")


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List users and service accounts with their roles."""
    with open_workspace(ctx) as ws:
        users = ws.identity.list_users()
    if as_json:
        print_json(
            [
                {
                    "name": u.name,
                    "kind": u.kind,
                    "active": u.active,
                    "roles": [{"role": b.role, "scope": b.scope} for b in u.bindings],
                }
                for u in users
            ]
        )
        return
    table = Table("name", "kind", "active", "roles", "created by")
    for u in users:
        roles = ", ".join(f"{b.role}@{_scope_text(b.scope)}" for b in u.bindings)
        table.add_row(u.name, u.kind, "yes" if u.active else "[red]no[/]", roles, u.created_by)
    console.print(table)


@users_app.command("deactivate")
def users_deactivate(
    ctx: typer.Context, name: str = typer.Argument(..., help="User to deactivate.")
) -> None:
    """Deactivate a user: every token of theirs stops working on the next request."""
    with open_workspace(ctx) as ws:
        ws.identity.set_active(name, False)
    console.print(f"deactivated [bold]{name}[/]")


@users_app.command("activate")
def users_activate(
    ctx: typer.Context, name: str = typer.Argument(..., help="User to reactivate.")
) -> None:
    """Reactivate a deactivated user."""
    with open_workspace(ctx) as ws:
        ws.identity.set_active(name, True)
    console.print(f"activated [bold]{name}[/]")


@users_app.command("bind")
def users_bind(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="User name, or group:NAME."),
    role: str = typer.Option(..., "--role", help=f"The role: {_ROLE_HELP}"),
    project: str | None = typer.Option(None, "--project", help="Only on this project."),
    resource: str | None = typer.Option(
        None, "--resource", help="Only on this resource (KIND:ID)."
    ),
) -> None:
    """Give a user (or group) a role."""
    with open_workspace(ctx) as ws:
        binding = ws.identity.bind(subject, role, project=project, resource=resource)
    console.print(f"{binding.subject} holds {binding.role} on {_scope_text(binding.scope)}")


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", help="Whose token it is."),
    expires: str = typer.Option(
        "30d", "--expires", help="Lifetime (90s, 15m, 12h, 30d, 2w) or 'never'."
    ),
    scope: list[str] | None = typer.Option(
        None, "--scope", help="Limit the token to this role (repeat for several)."
    ),
    description: str | None = typer.Option(None, "--description", help="What the token is for."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create an API token; the token is printed this once and never shown again."""
    with open_workspace(ctx) as ws:
        info, text = ws.identity.create_token(
            user,
            expires=None if expires == "never" else expires,
            scopes=scope or None,
            description=description,
        )
    if as_json:
        print_json(
            {
                "id": info.id,
                "user": info.user,
                "token": text,
                "expires_at": info.expires_at,
                "scopes": info.scopes,
            }
        )
        return
    err_console.print(
        f"token [bold]{info.id}[/] for {info.user}, expires "
        f"{info.expires_at.isoformat(timespec='seconds') if info.expires_at else 'never'}"
        " (store it now: it is not shown again)"
    )
    typer.echo(text)


@tokens_app.command("list")
def tokens_list(
    ctx: typer.Context,
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List tokens (ids and state, never secrets)."""
    with open_workspace(ctx) as ws:
        tokens = ws.identity.list_tokens(user)
    now = dt.datetime.now(dt.UTC)
    if as_json:
        print_json([{**vars(t), "state": t.state(now)} for t in tokens])
        return
    table = Table("id", "user", "state", "scopes", "expires (UTC)", "created by")
    for t in tokens:
        table.add_row(
            t.id,
            t.user,
            t.state(now),
            ", ".join(t.scopes) if t.scopes else "all roles",
            t.expires_at.strftime("%Y-%m-%d %H:%M") if t.expires_at else "never",
            t.created_by,
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    ctx: typer.Context, token_id: str = typer.Argument(..., help="The token's id.")
) -> None:
    """Revoke a token: the next request carrying it is refused (401)."""
    with open_workspace(ctx) as ws:
        info = ws.identity.revoke_token(token_id)
    console.print(f"revoked token [bold]{info.id}[/] of {info.user}")


def login(
    ctx: typer.Context,
    token: str | None = typer.Option(
        None, "--token", help="The API token (default: $FALAJ_TOKEN, else asked without echo)."
    ),
) -> None:
    """Store a token for the server given by --server / FALAJ_SERVER_URL (file mode 0600)."""
    import os

    from falaj.client import connect
    from falaj.client.credentials import save_token
    from falaj.errors import ConfigError

    url = state(ctx).server
    if not url:
        raise ConfigError("falaj login needs a server: `falaj --server URL login`")
    text = token or os.environ.get("FALAJ_TOKEN") or typer.prompt("token", hide_input=True)
    with connect(url, token=text) as remote:
        me = remote.identity.whoami()  # proves the token before it is stored
    path = save_token(url, text)
    console.print(f"logged in to {url} as [bold]{me['name']}[/] (token stored in {path})")


def logout(ctx: typer.Context) -> None:
    """Forget the token stored for the server given by --server / FALAJ_SERVER_URL."""
    from falaj.client.credentials import forget_token
    from falaj.errors import ConfigError

    url = state(ctx).server
    if not url:
        raise ConfigError("falaj logout needs a server: `falaj --server URL logout`")
    forgot = forget_token(url)
    console.print(f"{'forgot the token' if forgot else 'no token stored'} for {url}")
