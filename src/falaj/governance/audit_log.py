"""Reading the audit ledger (``ws.audit``): every read is authorized, and the reads auditors make
(listing, verifying, exporting) are themselves recorded in the ledger."""

from __future__ import annotations

import datetime as dt
from typing import TextIO

import sqlalchemy as sa

from falaj.errors import InvalidInputError
from falaj.governance.audit import AuditEvent
from falaj.governance.authorization import Action
from falaj.governance.errors import TamperedError
from falaj.governance.ledger import (
    AuditKey,
    ChainReport,
    Checkpoint,
    chain_key,
    export_jsonl,
    genesis_of,
    head_of,
    verify_chain,
)
from falaj.governance.service import Service
from falaj.governance.tables import audit_checkpoints, audit_events
from falaj.store.schema import utcnow

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
        ``since``/``until`` bound ``occurred_at`` (both inclusive).

        The read itself is recorded (``audit.read``, with the filters), after the events are
        gathered: it is not among what it returns."""
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
            events = [AuditEvent(**row._mapping) for row in conn.execute(query)]
        filters = {
            "principal": principal,
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "outcome": outcome,
            "since": since,
        }
        details: dict[str, object] = {k: v for k, v in filters.items() if v is not None}
        details["returned"] = len(events)
        self.audit(Action.AUDIT_READ, "audit", "*", details=details, authorized=True)
        return events

    def count(self) -> int:
        self.authorize(Action.AUDIT_READ, "audit", "*")
        with self.store.read() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one()
            )

    # -- the chain -----------------------------------------------------------------------------
    def verify(self, *, checkpoint: Checkpoint | None = None) -> ChainReport:
        """Walk the chain (and the stored checkpoints, and ``checkpoint`` exported earlier).

        Returns the report whatever it finds (``report.ok``); the verification is audited.
        A ``checkpoint`` not signed with this ledger's key, or of another workspace, is refused.
        """
        self.authorize(Action.AUDIT_VERIFY, "audit", "*")
        key = chain_key(self.store.engine)
        with self.store.read() as conn:
            workspace_id = self.store.get_info("workspace_id", conn)
            stored = [
                Checkpoint(
                    workspace_id=workspace_id or "",
                    seq=int(r.seq),
                    mac=r.mac,
                    key_id=r.key_id,
                    created_at=r.created_at.isoformat(),
                )
                for r in conn.execute(sa.select(audit_checkpoints))
            ]
            if checkpoint is not None:
                _check_checkpoint(checkpoint, key.key_id, workspace_id, key)
                stored.append(checkpoint)
            report = verify_chain(
                conn, key, genesis=genesis_of(self.store, conn), checkpoints=stored
            )
        first = report.first_bad
        self.audit(
            Action.AUDIT_VERIFY,
            "audit",
            "*",
            details={
                "ok": report.ok,
                "checked": report.checked,
                "head_seq": report.head_seq,
                "first_bad_seq": first.seq if first else None,
                "problem": first.problem if first else None,
                "checkpoint_seq": checkpoint.seq if checkpoint else None,
            },
            authorized=True,
        )
        return report

    def verify_or_raise(self, *, checkpoint: Checkpoint | None = None) -> ChainReport:
        """:meth:`verify`, raising :class:`TamperedError` naming the first bad record."""
        report = self.verify(checkpoint=checkpoint)
        first = report.first_bad
        if first is not None:
            raise TamperedError(f"audit chain broken at seq {first.seq}: {first.problem}")
        return report

    def checkpoint(self) -> Checkpoint:
        """Record the chain head now and return it signed, to export and keep elsewhere."""
        key = chain_key(self.store.engine)
        with self.mutation(Action.AUDIT_CHECKPOINT, "audit", "*") as m:
            seq, mac = head_of(m.conn)
            if mac is None:
                raise InvalidInputError("the audit chain has no chained record to checkpoint yet")
            now = utcnow()
            existing = m.conn.execute(
                sa.select(audit_checkpoints.c.seq).where(audit_checkpoints.c.seq == seq)
            ).first()
            if existing is None:
                m.conn.execute(
                    sa.insert(audit_checkpoints).values(
                        seq=seq,
                        mac=mac,
                        key_id=key.key_id,
                        created_by=m.actor.principal.name,
                        created_at=now,
                    )
                )
            workspace_id = self.store.get_info("workspace_id", m.conn) or ""
            m.details.update(seq=seq, mac=mac)
        return Checkpoint(
            workspace_id=workspace_id,
            seq=seq,
            mac=mac,
            key_id=key.key_id,
            created_at=now.isoformat(),
        ).signed(key)

    def export(self, out: TextIO, *, since_seq: int = 0) -> int:
        """Write the records after ``since_seq`` as JSON lines (for a SIEM); audited."""
        if not isinstance(since_seq, int) or since_seq < 0:
            raise InvalidInputError(f"since_seq {since_seq!r} is invalid: expected an integer >= 0")
        self.authorize(Action.AUDIT_EXPORT, "audit", "*")
        with self.store.read() as conn:
            count = export_jsonl(conn, out, since_seq=since_seq)
        self.audit(
            Action.AUDIT_EXPORT,
            "audit",
            "*",
            details={"since_seq": since_seq, "records": count},
            authorized=True,
        )
        return count


def _check_checkpoint(
    checkpoint: Checkpoint, key_id: str, workspace_id: str | None, key: AuditKey
) -> None:
    if checkpoint.workspace_id != workspace_id:
        raise InvalidInputError(
            f"checkpoint is of workspace {checkpoint.workspace_id!r}, not this one "
            f"({workspace_id!r})"
        )
    if checkpoint.key_id != key_id or not checkpoint.signature_valid(key):
        raise TamperedError(
            f"checkpoint at seq {checkpoint.seq} is not signed with this ledger's key "
            f"({key_id}): forged or edited"
        )
