"""Audit events: appended in the same transaction as the change they describe.

The ledger is append-only by design: the schema's triggers refuse UPDATE and DELETE on
``audit_events`` on both SQLite and PostgreSQL. On top of that every record is chained (an HMAC
over the previous link and the record, :mod:`falaj.governance.ledger`), so whoever bypasses the
triggers with direct database access cannot edit, delete, insert or reorder records unnoticed.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection

from falaj.errors import InvalidInputError
from falaj.governance.context import current_request_id, current_scope
from falaj.governance.ledger import append_link
from falaj.governance.principal import Principal
from falaj.store.schema import new_id, utcnow

__all__ = ["Actor", "AuditEvent", "Outcome", "record_event"]

Outcome = Literal["success", "failure", "denied"]
_OUTCOMES = ("success", "failure", "denied")
#: where calls of this process come from, unless the request scope says (a server's client IP)
_HOST = f"host:{socket.gethostname()}"[:200]


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
    source: str | None = None
    prev_mac: str | None = None
    mac: str | None = None


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
    source: str | None = None,
) -> str:
    """Append one audit event inside the caller's transaction; returns its event id.

    When the actor acts as someone other than the identity that authenticated, the real identity
    is recorded beside it (``details["authenticated"]``). ``source`` says where the call came
    from (a client address; default: this host). Before/after digests of a change go in
    ``details`` (``digest``, ``before_digest``, ``after_digest``) where the change knows them.
    The record is chained to the one before it (:func:`~falaj.governance.ledger.append_link`).
    """
    if outcome not in _OUTCOMES:
        raise InvalidInputError(
            f"audit outcome {outcome!r} is invalid: expected one of {_OUTCOMES}"
        )
    payload = dict(details or {})
    if actor.impersonating:
        payload["authenticated"] = str(actor.authenticated)
    # What the MAC covers must be exactly what the database gives back: JSON values only.
    payload = json.loads(json.dumps(payload, default=str))
    event_id = new_id()
    append_link(
        conn,
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
            "source": (source or _scope_source() or _HOST)[:200],
        },
    )
    return event_id


def _scope_source() -> str | None:
    scope = current_scope()
    return scope.source if scope is not None else None
