"""The request scope: who is acting, on whose authority, under which request id.

One set of services serves every principal of a process. Who a call acts for is not a property of
the service but of the call: :func:`request_scope` binds a principal (and the identity that was
actually authenticated, and a request id) to the current context, and every service reads them
from here::

    with request_scope(principal=Principal("bob"), request_id="req-42"):
        ws.registry.approve("credit", 3, comment="reviewed")   # judged and audited as bob

The server opens one scope per HTTP request; embedded mode runs without one and falls back to the
workspace's default principal (the OS user). Context variables follow ``asyncio`` tasks and are
copied into threads started with :func:`contextvars.copy_context`, never shared by accident.

``authenticated`` is the identity that proved itself (a verified token, the OS user). When a
caller acts *as* someone else (``ws.as_principal``, ``falaj approve --as``), the scope's principal
is the one acted as and ``authenticated`` the real identity; both are recorded in the audit trail,
and checks like separation of duties look at both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from falaj.errors import InvalidInputError, PermissionDeniedError
from falaj.governance.principal import Principal

__all__ = [
    "Scope",
    "current_principal",
    "current_request_id",
    "current_scope",
    "machinery",
    "request_scope",
    "within_machinery",
]


@dataclass(frozen=True)
class Scope:
    """What :func:`request_scope` binds: the acting principal, the authenticated one, the id."""

    principal: Principal | None
    authenticated: Principal | None
    request_id: str
    #: where the request came from (a client address), recorded in every audit event it makes
    source: str | None = None

    @property
    def impersonating(self) -> bool:
        """True when the principal acted as is not the identity that authenticated."""
        return (
            self.principal is not None
            and self.authenticated is not None
            and self.principal.name.casefold() != self.authenticated.name.casefold()
        )


_scope: ContextVar[Scope | None] = ContextVar("falaj_scope", default=None)
_machinery: ContextVar[bool] = ContextVar("falaj_machinery", default=False)


def current_scope() -> Scope | None:
    """The scope of the call in progress, if one was opened."""
    return _scope.get()


def current_request_id() -> str:
    """The id of the request in progress, or a fresh one for a standalone call."""
    scope = _scope.get()
    return scope.request_id if scope is not None else uuid.uuid4().hex


def current_principal(default: Principal | None = None) -> Principal:
    """The principal the current call acts for (the scope's, else ``default``).

    Raises :class:`PermissionDeniedError` when neither exists: a server never falls back to a
    principal nobody authenticated.
    """
    scope = _scope.get()
    if scope is not None and scope.principal is not None:
        return scope.principal
    if default is None:
        raise PermissionDeniedError(
            "no principal: this call runs outside any request scope and the workspace has no "
            "default principal (authenticate first)"
        )
    return default


@contextmanager
def request_scope(
    request_id: str | None = None,
    *,
    principal: Principal | None = None,
    authenticated: Principal | None = None,
    source: str | None = None,
) -> Iterator[str]:
    """Run a block as ``principal`` under one request id; yields the request id.

    Without ``principal`` the enclosing scope's principal (or the workspace default) stays in
    force and only the request id changes. ``authenticated`` defaults to ``principal``.
    ``source`` is where the request came from (the server passes the client's address); the
    audit trail records it (default: the enclosing scope's, else this host).
    """
    if request_id is not None and (not isinstance(request_id, str) or not request_id.strip()):
        raise InvalidInputError(f"request_id {request_id!r} is invalid: expected non-empty text")
    if principal is not None and not isinstance(principal, Principal):
        raise InvalidInputError(f"principal {principal!r} is invalid: expected a Principal")
    outer = _scope.get()
    rid = (request_id or uuid.uuid4().hex)[:64]
    if principal is None and outer is not None:
        principal, authenticated = outer.principal, authenticated or outer.authenticated
    if source is None and outer is not None:
        source = outer.source
    token = _scope.set(Scope(principal, authenticated or principal, rid, source))
    try:
        yield rid
    finally:
        _scope.reset(token)


@contextmanager
def machinery() -> Iterator[None]:
    """Calls made by Falaj's own machinery on behalf of an already authorized call.

    A promotion reads the candidate's run metrics and dataset statuses to judge its gates; the
    caller was authorized for the promotion, and those reads are part of it, so they are not
    authorized (or audited) a second time. Only wrap calls that run no user code.
    """
    token = _machinery.set(True)
    try:
        yield
    finally:
        _machinery.reset(token)


def within_machinery() -> bool:
    return _machinery.get()
