"""The lineage graph: directed edges from an upstream node to a downstream node."""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, UniqueConstraint

from falaj.store.schema import UTCDateTime, metadata

__all__ = ["lineage_edges"]

lineage_edges = Table(
    "lineage_edges",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source_kind", String(50), nullable=False),
    Column("source_id", String(300), nullable=False),
    Column("target_kind", String(50), nullable=False),
    Column("target_id", String(300), nullable=False),
    Column("relation", String(50), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "source_kind",
        "source_id",
        "target_kind",
        "target_id",
        "relation",
        name="uq_lineage_edges_source_kind",
    ),
    Index("ix_lineage_edges_target_kind_target_id", "target_kind", "target_id"),
)
