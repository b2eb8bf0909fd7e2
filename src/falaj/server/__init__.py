"""The platform server: a REST API (``/api/v1``) over the workspace's services, every request
authenticated (API tokens, OIDC) and authorized in the service layer (``falaj server``)."""

from falaj.server.app import API_PREFIX, create_app
from falaj.server.auth import Caller, ServerState
from falaj.server.run import ServeOptions, serve

__all__ = ["API_PREFIX", "Caller", "ServeOptions", "ServerState", "create_app", "serve"]
