"""The audit ledger table (append-only: database triggers refuse UPDATE and DELETE)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["audit_events"]

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "seq",
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("event_id", String(32), nullable=False, unique=True),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("principal_kind", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("resource_type", String(50), nullable=False),
    Column("resource_id", String(300), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("details", JSON(), nullable=False),
    Index("ix_audit_events_occurred_at", "occurred_at"),
    Index("ix_audit_events_resource_type_resource_id", "resource_type", "resource_id"),
    Index("ix_audit_events_principal", "principal"),
)
