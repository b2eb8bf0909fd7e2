"""``falaj init`` and ``falaj info``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from falaj.cli.choices import SigningMode
from falaj.cli.common import console, open_workspace, print_json, state
from falaj.redact import redact


def init(
    ctx: typer.Context,
    path: Path | None = typer.Argument(
        None, help="Folder to create the workspace in (default: --home, $FALAJ_HOME or ~/.falaj)."
    ),
    region: str | None = typer.Option(None, help="Data-residency region, e.g. ae-dubai-1."),
    db_url: str | None = typer.Option(None, help="Metadata DB URL (default: SQLite in PATH)."),
    artifact_uri: str | None = typer.Option(None, help="Artifact store URI (default: PATH)."),
    encrypt: bool = typer.Option(
        False, "--encrypt", help="Encrypt artifacts at rest (envelope encryption, AES-256-GCM)."
    ),
    signing_mode: SigningMode | None = typer.Option(
        None, help="Model signatures on load: enforce, warn (default) or off."
    ),
) -> None:
    """Create a workspace: falaj.toml, the metadata DB (migrated), the artifact folder and its
    keys (audit chain, model signing; master key when encrypting)."""
    from falaj.config import Settings
    from falaj.workspace import Workspace

    if path is None:
        st = state(ctx)
        path = st.home if st.home is not None else Settings.load().home
    options: dict[str, Any] = {
        k: v
        for k, v in {
            "region": region,
            "db_url": db_url,
            "artifact_uri": artifact_uri,
            "encryption": True if encrypt else None,
            "signing_mode": signing_mode.value if signing_mode else None,
        }.items()
        if v is not None
    }
    with Workspace.init(path, **options) as ws:
        console.print(f"[green]created[/] workspace {ws.id} in {ws.home}")
        console.print(f"  metadata  {ws.store.url}")
        console.print(f"  artifacts {redact(ws.settings.artifacts_url)}")
        console.print(f"  region    {ws.settings.region}")
        console.print(
            f"  trust     audit chain on, signing {ws.settings.signing_mode}, encryption "
            + ("on" if ws.settings.encryption else "off")
        )


def info(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Where things are stored, schema and library versions, region, principal."""
    import sys

    import sqlalchemy

    import falaj

    with open_workspace(ctx) as ws:
        facts = {
            "workspace": ws.id,
            "home": str(ws.home),
            "metadata": ws.store.url,
            "schema": ", ".join(sorted(ws.store.revision())),
            "artifacts": redact(ws.settings.artifacts_url),
            "region": ws.settings.region,
            "principal": str(ws.principal),
            "audit events": str(ws.audit.count()),
            "falaj": falaj.__version__,
            "python": ".".join(str(n) for n in sys.version_info[:3]),
            "sqlalchemy": sqlalchemy.__version__,
        }
        sources = {k: v for k, v in ws.settings.sources.items() if v != "default"}
    if as_json:
        print_json({**facts, "settings_sources": sources})
        return
    table = Table(title="Falaj workspace", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in facts.items():
        table.add_row(key, value)
    for key, source in sources.items():
        table.add_row(f"{key} set by", source)
    console.print(table)
