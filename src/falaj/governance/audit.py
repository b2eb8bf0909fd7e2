"""Audit events: appended in the same transaction as the change they describe.

The ledger is append-only by design: the schema's triggers refuse UPDATE and DELETE on
``audit_events`` on both SQLite and PostgreSQL. (Hash chaining for tamper evidence stacks on top of
this seam: ``seq`` gives the total order.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Connection

from falaj.errors import InvalidInputError
from falaj.governance.context import current_request_id
from falaj.governance.principal import Principal
from falaj.governance.tables import audit_events
from falaj.store.metadata_store import MetadataStore
from falaj.store.schema import new_id, utcnow

__all__ = ["AuditEvent", "AuditLog", "Outcome", "record_event"]

Outcome = Literal["success", "failure", "denied"]
_OUTCOMES = ("success", "failure", "denied")
_INSERT = sa.insert(audit_events)  # built once: record_event is on every write path


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit ledger."""

    seq: int
    event_id: str
    occurred_at: dt.datetime
    principal: str
    principal_kind: str
    action: str
    resource_type: str
    resource_id: str
    outcome: str
    request_id: str
    region: str
    details: dict[str, Any]


def record_event(
    conn: Connection,
    *,
    principal: Principal,
    action: str,
    resource_type: str,
    resource_id: str,
    region: str,
    outcome: Outcome = "success",
    details: dict[str, Any] | None = None,
) -> str:
    """Append one audit event inside the caller's transaction; returns its event id."""
    if outcome not in _OUTCOMES:
        raise InvalidInputError(
            f"audit outcome {outcome!r} is invalid: expected one of {_OUTCOMES}"
        )
    event_id = new_id()
    conn.execute(
        _INSERT,
        {
            "event_id": event_id,
            "occurred_at": utcnow(),
            "principal": principal.name,
            "principal_kind": principal.kind,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id[:300],
            "outcome": outcome,
            "request_id": current_request_id(),
            "region": region,
            "details": details or {},
        },
    )
    return event_id


class AuditLog:
    """Read access to the ledger (writes happen only through :func:`record_event`)."""

    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    def list(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        """Events matching every given filter. ``action`` ending in ``*`` matches a prefix."""
        if limit <= 0:
            raise InvalidInputError(f"limit must be a positive integer, got {limit}")
        query = sa.select(audit_events)
        if principal:
            query = query.where(audit_events.c.principal == principal)
        if action:
            if action.endswith("*"):
                query = query.where(audit_events.c.action.startswith(action[:-1]))
            else:
                query = query.where(audit_events.c.action == action)
        if resource_type:
            query = query.where(audit_events.c.resource_type == resource_type)
        if resource_id:
            query = query.where(audit_events.c.resource_id == resource_id)
        if outcome:
            query = query.where(audit_events.c.outcome == outcome)
        if since:
            query = query.where(audit_events.c.occurred_at >= since)
        order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq.asc()
        query = query.order_by(order).limit(limit)
        with self._store.read() as conn:
            return [AuditEvent(**row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with self._store.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
            )
