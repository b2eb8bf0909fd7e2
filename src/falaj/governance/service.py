"""The service seam: authorize, change inside one transaction, append the audit event in it.

Every capability service subclasses :class:`Service` and wraps each mutating call in
:meth:`Service.mutation`::

    with self.mutation("model.alias.set", "model", name, details={"alias": alias}) as m:
        m.conn.execute(...)            # the change
        m.details["version"] = v       # enrich the audit event
        m.resource_id = f"{name}/{v}"  # once the resource's id is known

Success appends a ``success`` event in the same transaction; a refused call appends ``denied``;
a failure rolls the change back and appends ``failure`` in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from falaj.config import Settings
from falaj.errors import FalajError, PermissionDeniedError
from falaj.governance.audit import Outcome, record_event
from falaj.governance.authorization import Authorizer, LocalOwnerPolicy
from falaj.governance.principal import Principal
from falaj.store.metadata_store import MetadataStore

__all__ = ["Mutation", "Service", "ServiceContext"]

_log = logging.getLogger("falaj.audit")


@dataclass(frozen=True)
class ServiceContext:
    """What every service is built from: one store, one principal, the settings, the policy."""

    store: MetadataStore
    principal: Principal
    settings: Settings
    authorizer: Authorizer = field(default_factory=LocalOwnerPolicy)

    @property
    def region(self) -> str:
        return self.settings.region


@dataclass
class Mutation:
    """The open transaction of one mutating call and its audit event's details."""

    conn: Connection
    resource_id: str
    details: dict[str, Any]


class Service:
    """Base of the capability services."""

    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    @property
    def context(self) -> ServiceContext:
        return self._ctx

    @property
    def principal(self) -> Principal:
        return self._ctx.principal

    @property
    def store(self) -> MetadataStore:
        return self._ctx.store

    @contextmanager
    def mutation(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> Iterator[Mutation]:
        """Authorize ``action``, then run the block in one transaction with its audit event."""
        try:
            self._ctx.authorizer.check(
                self._ctx.principal, action, f"{resource_type}:{resource_id}"
            )
        except PermissionDeniedError as exc:
            self._record_outside(action, resource_type, resource_id, "denied", details, exc)
            raise
        mutation = Mutation(conn=None, resource_id=resource_id, details=dict(details or {}))  # type: ignore[arg-type]
        try:
            with self._ctx.store.transaction() as conn:
                mutation.conn = conn
                yield mutation
                record_event(
                    conn,
                    principal=self._ctx.principal,
                    action=action,
                    resource_type=resource_type,
                    resource_id=mutation.resource_id,
                    region=self._ctx.region,
                    details=_jsonable(mutation.details),
                )
        except Exception as exc:
            self._record_outside(
                action, resource_type, mutation.resource_id, "failure", mutation.details, exc
            )
            raise

    def _record_outside(
        self,
        action: str,
        resource_type: str,
        resource_id: str,
        outcome: Outcome,
        details: dict[str, Any] | None,
        exc: BaseException,
    ) -> None:
        payload = dict(_jsonable(details or {}))
        payload["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        try:
            with self._ctx.store.transaction() as conn:
                record_event(
                    conn,
                    principal=self._ctx.principal,
                    action=action,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    region=self._ctx.region,
                    outcome=outcome,
                    details=payload,
                )
        except (FalajError, Exception) as secondary:  # the original error matters more
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
