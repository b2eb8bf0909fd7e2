"""``falaj db``: schema migrations of the metadata database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from falaj.cli.common import console, state

if TYPE_CHECKING:
    from falaj.store import MetadataStore

app = typer.Typer(help="Metadata database schema (Alembic migrations).", no_args_is_help=True)


def _store(ctx: typer.Context) -> MetadataStore:
    from falaj.config import Settings
    from falaj.store import MetadataStore

    st = state(ctx)
    overrides: dict[str, Any] = {"home": st.home} if st.home else {}
    settings = Settings.load(config_file=st.config, **overrides)
    if settings.is_embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    return MetadataStore.unchecked(settings.metadata_dsn)


@app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration (embedded workspaces also upgrade on open)."""
    store = _store(ctx)
    try:
        before = store.revision()
        store.upgrade()
        after = store.revision()
    finally:
        store.close()
    if before == after:
        console.print(f"schema already current ({', '.join(sorted(after))}) in {store.url}")
    else:
        console.print(
            f"[green]upgraded[/] {store.url}: {', '.join(sorted(before)) or 'empty'} -> "
            f"{', '.join(sorted(after))}"
        )


@app.command("current")
def current(ctx: typer.Context) -> None:
    """Show the database's schema revisions and the ones this Falaj expects; exit 1 if behind."""
    from falaj.store.migrate import head_revisions

    store = _store(ctx)
    try:
        have = store.revision()
    finally:
        store.close()
    want = head_revisions()
    console.print(f"database: {', '.join(sorted(have)) or 'empty'}")
    console.print(f"expected: {', '.join(sorted(want))}")
    if have != want:
        raise typer.Exit(1)


@app.command("owner-sql")
def owner_sql(
    app_role: str = typer.Option(..., "--app-role", help="Role the application connects as."),
    owner_role: str = typer.Option("falaj_owner", "--owner-role", help="NOLOGIN table owner."),
    schema: str = typer.Option("public", "--schema", help="Schema holding Falaj's tables."),
) -> None:
    """Print SQL giving Falaj's PostgreSQL tables an owner separate from the application role.

    The application role then cannot drop or disable the audit ledger's triggers, nor UPDATE,
    DELETE or TRUNCATE audit_events. Run the SQL once as a superuser; see docs/architecture.md.
    """
    from falaj.store.roles import owner_role_sql

    typer.echo(owner_role_sql(app_role=app_role, owner_role=owner_role, schema=schema), nl=False)
