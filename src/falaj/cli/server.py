"""``falaj server``: serve the configured workspace's REST API (``/api/v1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from falaj.cli.common import state

__all__ = ["server"]


def server(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="TLS certificate (PEM)."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="TLS private key (PEM)."),
    tls_client_ca: Path | None = typer.Option(
        None, "--tls-client-ca", help="Require client certificates signed by this CA (mTLS)."
    ),
    oidc_issuer: str | None = typer.Option(
        None, "--oidc-issuer", envvar="FALAJ_OIDC_ISSUER", help="Accept OIDC tokens of this issuer."
    ),
    oidc_audience: str | None = typer.Option(
        None, "--oidc-audience", envvar="FALAJ_OIDC_AUDIENCE", help="The audience they must name."
    ),
    oidc_jwks: str | None = typer.Option(
        None, "--oidc-jwks", envvar="FALAJ_OIDC_JWKS", help="The issuer's JWKS: a file or a URL."
    ),
    oidc_groups_claim: str = typer.Option(
        "groups", "--oidc-groups-claim", help="The claim that lists the user's groups."
    ),
    oidc_username_claim: str = typer.Option(
        "preferred_username", "--oidc-username-claim", help="The claim naming the user."
    ),
    oidc_group_role: list[str] | None = typer.Option(
        None, "--oidc-group-role", help="Map a group to a role: GROUP=ROLE (repeatable)."
    ),
    auth_burst: int = typer.Option(
        10, "--auth-burst", min=1, help="Failed authentications a source may make in a row."
    ),
    auth_refill_per_minute: float = typer.Option(
        12.0, "--auth-refill-per-minute", help="How fast a source's failed tries come back."
    ),
    max_body_mb: float = typer.Option(1.0, "--max-body-mb", help="Largest JSON body, in MiB."),
    max_upload_mb: float = typer.Option(
        1024.0, "--max-upload-mb", help="Largest artifact or dataset upload, in MiB."
    ),
    ui: bool = typer.Option(
        True, "--ui/--no-ui", help="Serve the web UI at /ui (same sign-in: API tokens or OIDC)."
    ),
) -> None:
    """Serve the workspace's REST API: every request authenticated (API tokens or OIDC) and
    authorized by the roles bound in the workspace (`falaj users`)."""
    from falaj.config import Settings
    from falaj.errors import ConfigError
    from falaj.governance.identity.oidc import OIDCConfig
    from falaj.logs import configure_logging

    try:
        from falaj.server.run import ServeOptions, serve
    except ImportError as exc:  # pragma: no cover - the extra is installed in development
        raise ConfigError(
            f"falaj server needs the 'server' extra ({exc.name} is missing): "
            "pip install 'falaj[server]'"
        ) from exc

    st = state(ctx)
    overrides: dict[str, Any] = {"home": st.home} if st.home is not None else {}
    settings = Settings.load(config_file=st.config, **overrides)
    configure_logging(settings.log_format, settings.log_level)
    oidc = None
    given = [oidc_issuer, oidc_audience, oidc_jwks]
    if any(given):
        if not all(given):
            raise ConfigError("OIDC needs --oidc-issuer, --oidc-audience and --oidc-jwks together")
        oidc = OIDCConfig(
            issuer=str(oidc_issuer),
            audience=str(oidc_audience),
            jwks=str(oidc_jwks),
            groups_claim=oidc_groups_claim,
            username_claim=oidc_username_claim,
            group_roles=OIDCConfig.parse_group_roles(oidc_group_role or []),
        )
    if max_body_mb <= 0 or max_upload_mb <= 0 or auth_refill_per_minute <= 0:
        raise ConfigError(
            "--max-body-mb, --max-upload-mb and --auth-refill-per-minute must be positive"
        )
    options = ServeOptions(
        host=host,
        port=port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_client_ca=tls_client_ca,
        oidc=oidc,
        max_body=int(max_body_mb * (1 << 20)),
        max_upload=int(max_upload_mb * (1 << 20)),
        auth_burst=auth_burst,
        auth_refill_per_second=auth_refill_per_minute / 60.0,
    )
    scheme = "https" if tls_cert else "http"
    typer.echo(f"serving {settings.home} on {scheme}://{host}:{port}")
    if ui:
        typer.echo(f"web UI: {scheme}://{host}:{port}/ui (sign in with an API token)")
    serve(settings, options, _ui_mount(secure=tls_cert is not None) if ui else None)


def _ui_mount(*, secure: bool) -> Any:
    """The web UI beside the API, signing people in with the server's own token checks.

    Session cookies are signed with ``FALAJ_UI_SECRET`` when set (give every replica behind one
    address the same one), else with a random per-process secret (sessions end with it)."""
    import os

    def mounts(state: Any) -> dict[str, Any]:
        from falaj.server.auth import TokenAuthenticator
        from falaj.ui import create_ui_app
        from falaj.ui.live_deployments import WorkspaceDeployments

        secret = os.environ.get("FALAJ_UI_SECRET")
        app = create_ui_app(
            state.workspace,
            TokenAuthenticator(state),
            secret=secret.encode() if secret else None,
            deployments=WorkspaceDeployments(state.workspace),
            secure_cookies=secure,
        )
        return {"/ui": app}

    return mounts
