"""Reading the audit ledger (``ws.audit``): every read is authorized (``audit.read``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.governance.audit import AuditEvent
from falaj.governance.authorization import Action
from falaj.governance.service import Service
from falaj.governance.tables import audit_events

__all__ = ["AuditLog"]


class AuditLog(Service):
    """Read access to the ledger (writes happen only through :func:`record_event`)."""

    def list(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        outcome: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[AuditEvent]:
        """Events matching every given filter. ``action`` ending in ``*`` matches a prefix;
        ``since``/``until`` bound ``occurred_at`` (both inclusive)."""
        self.authorize(Action.AUDIT_READ, "audit", "*")
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
        if until:
            query = query.where(audit_events.c.occurred_at <= until)
        order = audit_events.c.seq.desc() if newest_first else audit_events.c.seq.asc()
        query = query.order_by(order).limit(limit)
        with self.store.read() as conn:
            return [AuditEvent(**row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        self.authorize(Action.AUDIT_READ, "audit", "*")
        with self.store.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
            )
