"""The audit ledger table (append-only: database triggers refuse UPDATE and DELETE; each
record is chained to the one before it, see :mod:`falaj.governance.ledger`)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["audit_checkpoints", "audit_events", "model_signatures", "signing_keys"]

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
    # the tamper-evident chain (f0003): where the call came from, and the links (ledger.py)
    Column("source", String(200), nullable=True),
    Column("prev_mac", String(64), nullable=True),
    Column("mac", String(64), nullable=True),
    Index("ix_audit_events_occurred_at", "occurred_at"),
    Index("ix_audit_events_resource_type_resource_id", "resource_type", "resource_id"),
    Index("ix_audit_events_principal", "principal"),
)

# -- trust (g0001) -----------------------------------------------------------------------------
#: chain heads recorded by ``falaj audit checkpoint`` (an exported copy is what catches a
#: truncated tail; the stored ones are checked by every verify as well)
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger(), primary_key=True, autoincrement=False),
    Column("mac", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: public keys that sign model versions; only ``trusted`` ones are accepted on load
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("algorithm", String(20), nullable=False),
    Column("public_key", Text(), nullable=False),
    Column("trusted", Boolean(), nullable=False),
    Column("source", String(300), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: one DSSE envelope (an in-toto statement over the version's files) per model version
model_signatures = Table(
    "model_signatures",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("version", Integer(), primary_key=True, autoincrement=False),
    Column("artifact_digest", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("envelope", Text(), nullable=False),
    Column("signed_by", String(200), nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
)
