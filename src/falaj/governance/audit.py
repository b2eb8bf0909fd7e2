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
from falaj.store.schema import new_id, utcnow

__all__ = ["Actor", "AuditEvent", "Outcome", "record_event"]

Outcome = Literal["success", "failure", "denied"]
_OUTCOMES = ("success", "failure", "denied")
_INSERT = sa.insert(audit_events)  # built once: record_event is on every write path


@dataclass(frozen=True)
class Actor:
    """Who a call acts for (``principal``), who proved it (``authenticated``), under which
    request id (``None``: a fresh id per event)."""

    principal: Principal
    authenticated: Principal
    request_id: str | None = None

    @property
    def impersonating(self) -> bool:
        return self.principal.name.casefold() != self.authenticated.name.casefold()


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
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: str,
    region: str,
    outcome: Outcome = "success",
    details: dict[str, Any] | None = None,
) -> str:
    """Append one audit event inside the caller's transaction; returns its event id.

    When the actor acts as someone other than the identity that authenticated, the real identity
    is recorded beside it (``details["authenticated"]``).
    """
    if outcome not in _OUTCOMES:
        raise InvalidInputError(
            f"audit outcome {outcome!r} is invalid: expected one of {_OUTCOMES}"
        )
    payload = dict(details or {})
    if actor.impersonating:
        payload["authenticated"] = str(actor.authenticated)
    event_id = new_id()
    conn.execute(
        _INSERT,
        {
            "event_id": event_id,
            "occurred_at": utcnow(),
            "principal": actor.principal.name,
            "principal_kind": actor.principal.kind,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id[:300],
            "outcome": outcome,
            "request_id": actor.request_id or current_request_id(),
            "region": region,
            "details": payload,
        },
    )
    return event_id
