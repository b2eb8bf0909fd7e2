"""The service seam: authorize, change inside the unit of work, audit in it.

Every capability service subclasses :class:`Service`. A public call first asks the one
authorization seam (:meth:`Service.authorize`), before any side effect, for reads and writes
alike; a mutating call then wraps its change in :meth:`Service.mutation`::

    with self.mutation(Action.MODEL_ALIAS_SET, "model", name, details={"alias": alias}) as m:
        m.conn.execute(...)            # the change
        m.details["version"] = v       # enrich the audit event
        m.resource_id = f"{name}/{v}"  # once the resource's id is known

The block runs in the store's unit of work: if the caller already opened one (a transaction in
this context, see :meth:`MetadataStore.transaction`), the mutation joins it under a savepoint, so
a change, its lineage edges and its audit event commit together or not at all, across areas.

Outcomes: success appends a ``success`` event in the same transaction; a refused call appends one
``denied`` event; a failure rolls the change back and appends a ``failure`` event (in the
enclosing unit of work if there is one, re-written after its rollback if that fails too).
Who acted comes from the request scope (:mod:`falaj.governance.context`), never from the service
instance, so one set of services serves every principal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from falaj.config import Settings
from falaj.errors import PermissionDeniedError
from falaj.governance.audit import Actor, Outcome, record_event
from falaj.governance.authorization import Action, Authorizer, Resource
from falaj.governance.context import current_scope, within_machinery
from falaj.governance.errors import ResidencyViolationError
from falaj.governance.principal import Principal
from falaj.governance.residency import ResidencyPolicy
from falaj.store.metadata_store import MetadataStore

__all__ = ["Mutation", "Service", "ServiceContext"]

_log = logging.getLogger("falaj.audit")


@dataclass(frozen=True)
class ServiceContext:
    """What every service is built from: the store, the settings, the policy, and the default
    identity used when a call runs outside any request scope (embedded mode: the OS user).

    ``principal`` is that default acting principal (``None`` in server mode: every call must
    come with a scope); ``authenticated`` the identity that really opened the workspace.
    """

    store: MetadataStore
    principal: Principal | None
    settings: Settings
    authorizer: Authorizer
    authenticated: Principal | None = None

    @property
    def region(self) -> str:
        return self.settings.region

    def actor(self) -> Actor:
        """Who the current call acts for, and on whose authority (scope first, then defaults)."""
        scope = current_scope()
        principal = scope.principal if scope is not None else None
        authenticated = scope.authenticated if scope is not None else None
        if principal is None:
            principal = self.principal
            authenticated = self.authenticated or self.principal
        if principal is None:
            raise PermissionDeniedError(
                "no principal: this call runs outside any request scope and the workspace has "
                "no default principal (authenticate first)"
            )
        return Actor(principal, authenticated or principal, scope.request_id if scope else None)


@dataclass
class Mutation:
    """The open transaction of one mutating call and its audit event's details."""

    conn: Connection
    resource_id: str
    details: dict[str, Any]
    actor: Actor


class Service:
    """Base of the capability services."""

    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    @property
    def context(self) -> ServiceContext:
        return self._ctx

    @property
    def principal(self) -> Principal:
        """The principal the current call acts for (from the request scope)."""
        return self._ctx.actor().principal

    def actor(self) -> Actor:
        return self._ctx.actor()

    @property
    def store(self) -> MetadataStore:
        return self._ctx.store

    # -- the authorization seam ----------------------------------------------------------------
    def authorize(
        self,
        action: Action | str,
        resource_type: str,
        resource_id: str,
        *,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> Actor:
        """Ask the policy before any side effect; a refusal is audited once and raised.

        Calls the machinery makes on behalf of an already authorized call
        (:func:`~falaj.governance.context.machinery`) are not asked again.
        """
        act = Action.parse(action)
        who = actor or self._ctx.actor()
        if within_machinery():
            return who
        resource = Resource(resource_type, str(resource_id))
        try:
            self._ctx.authorizer.authorize(who.principal, act, resource)
        except PermissionDeniedError as exc:
            self._record_outcome(act, resource_type, str(resource_id), "denied", details, exc, who)
            raise
        return who

    @contextmanager
    def mutation(
        self,
        action: Action | str,
        resource_type: str,
        resource_id: str,
        *,
        details: dict[str, Any] | None = None,
        actor: Actor | None = None,
        authorized: bool = False,
    ) -> Iterator[Mutation]:
        """Authorize ``action`` (unless the caller just did), then run the block in the unit of
        work with its audit event."""
        act = Action.parse(action)
        who = actor or self._ctx.actor()
        if not authorized:
            self.authorize(act, resource_type, resource_id, details=details, actor=who)
        mutation = Mutation(
            conn=None,  # type: ignore[arg-type]  # set once the transaction is open
            resource_id=resource_id,
            details=dict(details or {}),
            actor=who,
        )
        try:
            with self._ctx.store.transaction() as conn:
                mutation.conn = conn
                yield mutation
                record_event(
                    conn,
                    actor=who,
                    action=act.value,
                    resource_type=resource_type,
                    resource_id=mutation.resource_id,
                    region=self._ctx.region,
                    details=_jsonable(mutation.details),
                )
        except Exception as exc:
            self._record_outcome(
                act, resource_type, mutation.resource_id, "failure", mutation.details, exc, who
            )
            raise

    def audit(
        self,
        action: Action | str,
        resource_type: str,
        resource_id: str,
        *,
        details: dict[str, Any] | None = None,
        authorized: bool = False,
    ) -> None:
        """Record an event that changes no row (a judgment, a report): authorize, then audit."""
        with self.mutation(
            action, resource_type, resource_id, details=details, authorized=authorized
        ):
            pass

    # -- residency -----------------------------------------------------------------------------
    def residency(self) -> ResidencyPolicy:
        """The residency policy: ``residency_policy``, else ``<home>/residency.toml``."""
        settings = self._ctx.settings
        return ResidencyPolicy.for_workspace(settings.home, settings.residency_policy)

    def check_residency(
        self,
        action: Action | str,
        resource_type: str,
        resource_id: str,
        *,
        classifications: Iterable[str],
        region: str,
        what: str,
    ) -> None:
        """Refuse placing data with ``classifications`` in ``region``: a ``denied`` audit event
        for ``action`` names the rule, then :class:`ResidencyViolationError` is raised."""
        labels = sorted(set(classifications))
        policy = self.residency()
        try:
            policy.check(labels, region, what)
        except ResidencyViolationError as exc:
            details = {"region": region, "classifications": labels, "policy": policy.source}
            self._record_outcome(
                Action.parse(action),
                resource_type,
                resource_id,
                "denied",
                details,
                exc,
                self._ctx.actor(),
            )
            raise

    def _record_outcome(
        self,
        action: Action,
        resource_type: str,
        resource_id: str,
        outcome: Outcome,
        details: dict[str, Any] | None,
        exc: BaseException,
        actor: Actor,
    ) -> None:
        """A ``denied``/``failure`` event: in the enclosing unit of work when one is open (and
        again after its rollback, should it roll back), else in a transaction of its own."""
        payload = dict(_jsonable(details or {}))
        payload["error"] = f"{type(exc).__name__}: {exc}"[:2000]

        def write(conn: Connection) -> None:
            record_event(
                conn,
                actor=actor,
                action=action.value,
                resource_type=resource_type,
                resource_id=resource_id,
                region=self._ctx.region,
                outcome=outcome,
                details=payload,
            )

        store = self._ctx.store
        try:
            if store.in_transaction():
                store.after_rollback(write)
            with store.transaction() as conn:
                write(conn)
        except Exception as secondary:  # the original error matters more
            _log.warning("could not record %s audit event for %s: %s", outcome, action, secondary)


def _jsonable(value: Any) -> Any:
    """Details as JSON-safe values (dates and paths become strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
