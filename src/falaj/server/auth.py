"""Authentication of every request (but ``GET /api/v1/health``) and the per-request scope.

``Authorization: Bearer TOKEN`` carries either a Falaj API token (``flj_...``, checked against
its stored hash, expiry, revocation and its user's state on every request) or, when OIDC is
configured, a JWT from the identity provider. A source that fails too often is refused with 429
before its credential is looked at. Endpoints then run their service call inside
``with caller:``, the request scope naming the authenticated principal and the request id.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request

from falaj.governance.context import request_scope
from falaj.governance.identity.errors import AuthenticationError
from falaj.governance.identity.oidc import OIDCVerifier, looks_like_jwt
from falaj.governance.identity.ratelimit import FailedAuthLimiter
from falaj.governance.principal import Principal

if TYPE_CHECKING:
    from falaj.workspace import Workspace

__all__ = ["Caller", "CallerDep", "ServerState", "TokenAuthenticator", "authenticate"]


@dataclass
class ServerState:
    """What the application serves: one workspace (no default principal), the optional OIDC
    verifier, the failed-authentication limiter and the body limits."""

    workspace: Workspace
    limiter: FailedAuthLimiter = field(default_factory=FailedAuthLimiter)
    oidc: OIDCVerifier | None = None
    max_body: int = 1 << 20
    max_upload: int = 1 << 30
    #: runs started through this server process, by id (their batched writer lives here)
    open_runs: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Caller:
    """An authenticated request: its workspace, principal and request id. ``with caller:``
    runs the block in the request scope."""

    def __init__(
        self, server: ServerState, principal: Principal, request_id: str, source: str | None = None
    ) -> None:
        self.server = server
        self.ws = server.workspace
        self.principal = principal
        self.request_id = request_id
        self.source = source
        self._stack = ExitStack()

    def __enter__(self) -> Caller:
        self._stack.enter_context(
            request_scope(
                self.request_id,
                principal=self.principal,
                authenticated=self.principal,
                source=self.source,
            )
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.falaj
    return state


def authenticate(request: Request) -> Caller:
    """The dependency every protected endpoint declares."""
    server = server_state(request)
    source = request.client.host if request.client else "unknown"
    server.limiter.check(source)
    try:
        principal = _principal(server, request.headers.get("authorization"))
    except AuthenticationError:
        server.limiter.failure(source)
        raise
    request.scope.setdefault("state", {})["principal"] = str(principal)
    rid = request.scope.get("state", {}).get("request_id") or "unknown"
    return Caller(server, principal, rid, source)


def _principal(server: ServerState, header: str | None) -> Principal:
    if not header:
        raise AuthenticationError(
            "authentication required: send 'Authorization: Bearer TOKEN' (a Falaj API token "
            "from `falaj tokens create`, or an OIDC token)"
        )
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise AuthenticationError("authentication required: expected 'Authorization: Bearer TOKEN'")
    if looks_like_jwt(credential):
        if server.oidc is None:
            raise AuthenticationError("invalid token: OIDC is not configured on this server")
        principal: Principal = server.oidc.verify(credential)
        if server.workspace.identity.is_active(principal.name) is False:
            raise AuthenticationError("invalid token: the user is deactivated")
        return principal
    return server.workspace.identity.authenticate(credential)


CallerDep = Annotated[Caller, Depends(authenticate)]


class TokenAuthenticator:
    """The server's own verification (API tokens, OIDC, deactivated users) for other front
    ends mounted beside the API, such as the web UI's sign-in: ``authenticate(token)``."""

    def __init__(self, server: ServerState) -> None:
        self._server = server

    def authenticate(self, token: str) -> Principal:
        """The token's principal; :class:`AuthenticationError` (a PermissionDeniedError) when
        it proves nothing."""
        return _principal(self._server, f"Bearer {token}")
