"""Running the API on uvicorn, over the configured workspace, with optional TLS and mTLS."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from falaj.errors import ConfigError

if TYPE_CHECKING:
    from falaj.config import Settings
    from falaj.governance.identity.oidc import OIDCConfig
    from falaj.server.auth import ServerState

#: Other ASGI apps to mount beside the API (path -> app), built over the server's state: the
#: entry point composes them (the web UI is a sibling package the server does not import).
Mounts = Callable[["ServerState"], Mapping[str, Any]]

__all__ = ["Mounts", "ServeOptions", "serve"]


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    oidc: OIDCConfig | None = None
    max_body: int = 1 << 20
    max_upload: int = 1 << 30
    auth_burst: int = 10
    auth_refill_per_second: float = 0.2

    def check(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together: give both or neither")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigError("--tls-client-ca (mTLS) needs --tls-cert and --tls-key")
        for path in (self.tls_cert, self.tls_key, self.tls_client_ca):
            if path is not None and not path.is_file():
                raise ConfigError(f"TLS file {path} does not exist")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is invalid: expected 1-65535")


def serve(settings: Settings, options: ServeOptions, mounts: Mounts | None = None) -> None:
    """Serve ``settings``' workspace until interrupted (and ``mounts`` beside the API)."""
    import uvicorn

    from falaj.governance.identity import FailedAuthLimiter, OIDCVerifier, StoredRoleAuthorizer
    from falaj.server.app import create_app
    from falaj.server.auth import ServerState
    from falaj.workspace import Workspace

    options.check()
    workspace = Workspace.open_for_server(settings, StoredRoleAuthorizer)
    try:
        state = ServerState(
            workspace=workspace,
            limiter=FailedAuthLimiter(
                burst=options.auth_burst, refill_per_second=options.auth_refill_per_second
            ),
            oidc=OIDCVerifier(options.oidc) if options.oidc is not None else None,
            max_body=options.max_body,
            max_upload=options.max_upload,
        )
        app = create_app(state)
        for path, sub in (mounts(state) if mounts is not None else {}).items():
            app.mount(path, sub)
        config = uvicorn.Config(
            app,
            host=options.host,
            port=options.port,
            log_config=None,
            access_log=False,  # ours is structured and carries request ids
            ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
            ssl_keyfile=str(options.tls_key) if options.tls_key else None,
            ssl_ca_certs=str(options.tls_client_ca) if options.tls_client_ca else None,
            ssl_cert_reqs=ssl.CERT_REQUIRED if options.tls_client_ca else ssl.CERT_NONE,
        )
        uvicorn.Server(config).run()
    finally:
        workspace.close()
