"""The web UI: server-rendered pages over the workspace's services (``/ui``).

``create_ui_app(workspace, authenticator)`` is the ASGI app (mount it at ``/ui``);
``falaj ui`` serves it on an embedded workspace with a one-time login token. See docs/ui.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from falaj.ui.app import create_ui_app
    from falaj.ui.auth import Authenticator, LocalTokenAuthenticator, TokenTable
    from falaj.ui.deployments import DeploymentSnapshot, DeploymentsSource
    from falaj.ui.serve import build_asgi, running_ui

__all__ = [
    "Authenticator",
    "DeploymentSnapshot",
    "DeploymentsSource",
    "LocalTokenAuthenticator",
    "TokenTable",
    "build_asgi",
    "create_ui_app",
    "running_ui",
]

_WHERE = {
    "create_ui_app": "falaj.ui.app",
    "Authenticator": "falaj.ui.auth",
    "LocalTokenAuthenticator": "falaj.ui.auth",
    "TokenTable": "falaj.ui.auth",
    "DeploymentSnapshot": "falaj.ui.deployments",
    "DeploymentsSource": "falaj.ui.deployments",
    "build_asgi": "falaj.ui.serve",
    "running_ui": "falaj.ui.serve",
}


def __getattr__(name: str) -> Any:  # starlette and jinja2 load only when the UI is used
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'falaj.ui' has no attribute {name!r}")
